// Keyboard review: 1–9 pick options, G ticks "I guessed", Enter checks, Space continues,
// U undoes. Loaded as a file (CSP script-src 'self'); the page works without it.
(function () {
  "use strict";

  function card() {
    return document.getElementById("review-card");
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    return tag === "textarea" || tag === "select" ||
      (tag === "input" && !["radio", "checkbox"].includes(target.type)) ||
      target.isContentEditable;
  }

  function pickOption(form, number) {
    const input = form.querySelector('[data-option-key="' + number + '"]');
    if (!input) return false;
    if (input.type === "checkbox") {
      input.checked = !input.checked;
    } else {
      input.checked = true;
    }
    input.focus({ preventScroll: true });
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function submit(form) {
    if (form.dataset.submitting === "1") return;
    form.dataset.submitting = "1";
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const drill = document.querySelector("[data-drill-form]");
    if (drill && /^[1-4]$/.test(event.key)) {
      const button = drill.querySelector('[data-drill-key="' + event.key + '"]');
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    const region = card();
    if (!region) return;
    const mode = region.dataset.mode;
    const form = region.querySelector("[data-answer-form]");

    if (mode === "question" && form) {
      if (/^[1-9]$/.test(event.key) && pickOption(form, event.key)) {
        event.preventDefault();
      } else if (event.key === "g" || event.key === "G") {
        const guessed = form.querySelector("[data-guessed]");
        if (guessed) {
          guessed.checked = !guessed.checked;
          event.preventDefault();
        }
      } else if (event.key === "Enter") {
        const tag = event.target.tagName ? event.target.tagName.toLowerCase() : "";
        if (tag === "a" || tag === "button") return;
        event.preventDefault();
        submit(form);
      }
      return;
    }

    if (mode === "feedback") {
      const tag = event.target.tagName ? event.target.tagName.toLowerCase() : "";
      if ((event.key === " " || event.key === "Spacebar") && tag !== "button") {
        const next = region.querySelector("[data-continue]");
        if (next) {
          event.preventDefault();
          next.click();
        }
      } else if (event.key === "u" || event.key === "U") {
        const undo = region.querySelector("[data-undo]");
        if (undo) {
          event.preventDefault();
          undo.click();
        }
      }
    }
  });

  // Plain submits (no htmx) also guard against a double click sending twice.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches && form.matches("[data-answer-form]")) {
      form.dataset.submitting = "1";
    }
  }, true);
})();
