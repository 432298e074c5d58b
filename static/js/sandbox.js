// Sandbox enhancements; every feature also works without this file.
(() => {
  "use strict";

  // Console: ↑/↓ walk the command history (kept server-side, seeded from the page).
  function setUpConsole(root) {
    const form = root.querySelector("[data-console-form]");
    const input = root.querySelector("[data-console-input]");
    if (!form || !input || form.dataset.ready) return;
    form.dataset.ready = "1";
    const seed = document.getElementById("console-history");
    const history = seed ? JSON.parse(seed.textContent) : [];
    let position = history.length;
    let draft = "";

    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowUp") {
        if (position === history.length) draft = input.value;
        if (position > 0) position -= 1;
        input.value = history[position] ?? "";
        event.preventDefault();
      } else if (event.key === "ArrowDown") {
        if (position < history.length) position += 1;
        input.value = position === history.length ? draft : history[position];
        event.preventDefault();
      }
    });

    form.addEventListener("htmx:beforeRequest", () => {
      const command = input.value.trim();
      if (command && history[history.length - 1] !== command) history.push(command);
      position = history.length;
      draft = "";
    });
    form.addEventListener("htmx:afterRequest", () => {
      input.value = "";
      input.focus();
      const transcript = document.getElementById("console-transcript");
      if (transcript) transcript.scrollTop = transcript.scrollHeight;
    });
    const transcript = document.getElementById("console-transcript");
    if (transcript) transcript.scrollTop = transcript.scrollHeight;
  }

  // Copy buttons: <button data-copy="#element-id">.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(() => {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  });

  document.addEventListener("DOMContentLoaded", () => setUpConsole(document));
  document.addEventListener("htmx:afterSettle", (event) => setUpConsole(event.detail.elt.closest("body") || document));
})();
