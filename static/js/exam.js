// Mock exam: a countdown next to the server's deadline, and a "Saving…" note while htmx
// autosaves. The server enforces the deadline; this file only keeps the learner informed.
(function () {
  "use strict";

  function pad(value) {
    return String(value).padStart(2, "0");
  }

  function format(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h + ":" + pad(m) + ":" + pad(s);
  }

  let expired = false;

  function tick() {
    const timer = document.querySelector("[data-deadline]");
    if (!timer) return;
    const deadline = Date.parse(timer.dataset.deadline);
    const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    const output = timer.querySelector("[data-time-left]");
    if (output) output.textContent = format(left);
    timer.classList.toggle("is-low", left <= 300);
    if (left === 0 && !expired) {
      expired = true;
      // Give the last autosave a moment, then let the server close the exam.
      window.setTimeout(function () {
        window.location.assign(timer.dataset.expiredUrl);
      }, 1500);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.matches && event.detail.elt.matches("[data-exam-form]")) {
      const status = document.querySelector("[data-save-status]");
      if (status) status.textContent = "Saving…";
    }
  });

  document.addEventListener("htmx:afterSwap", tick);

  document.addEventListener("htmx:responseError", function () {
    const status = document.querySelector("[data-save-status]");
    if (status) status.textContent = "Not saved: check your connection, then change the answer again or use Save.";
  });

  document.addEventListener("htmx:sendError", function () {
    const status = document.querySelector("[data-save-status]");
    if (status) status.textContent = "Offline: not saved yet. Use a Save button when you are back online.";
  });
})();
