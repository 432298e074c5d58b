// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:afterSwap", (event) => {
  // Move focus to the swapped region so keyboard and screen-reader users follow the update.
  const target = event.detail.target;
  if (target && target.id && target.querySelector) {
    const heading = target.querySelector("h2, [data-autofocus]");
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  }
});

// A region that scrolls must be reachable by keyboard (WCAG 2.1.1): it gets a tab stop while
// its content overflows it, and loses it when it no longer does (a wider window, a swap).
const SCROLLERS = "pre, table, [data-scrolls]";
function scrolls(element) {
  const style = getComputedStyle(element);
  const sideways = /auto|scroll/.test(style.overflowX) && element.scrollWidth > element.clientWidth + 1;
  const down = /auto|scroll/.test(style.overflowY) && element.scrollHeight > element.clientHeight + 1;
  return sideways || down;
}
function markScrollers(root) {
  const found = root.matches && root.matches(SCROLLERS) ? [root] : [];
  found.push(...root.querySelectorAll(SCROLLERS));
  for (const element of found) {
    if (scrolls(element)) {
      if (!element.hasAttribute("tabindex")) {
        element.setAttribute("tabindex", "0");
        element.dataset.scrollTab = "";
      }
    } else if ("scrollTab" in element.dataset) {
      element.removeAttribute("tabindex");
      delete element.dataset.scrollTab;
    }
  }
}
markScrollers(document);
document.addEventListener("htmx:afterSettle", () => markScrollers(document));
let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => markScrollers(document), 150);
});

// Long actions (an import, grading a lab, a reset): the form says it is working, and a second
// click cannot send it twice. `data-busy` holds what the pressed button says meanwhile.
function setBusy(form, button, busy) {
  form.toggleAttribute("aria-busy", busy);
  for (const control of form.querySelectorAll("button, input[type=submit]")) control.disabled = busy;
  if (!button) return;
  if (busy) {
    button.dataset.idleLabel = button.textContent;
    button.textContent = form.dataset.busy;
  } else if (button.dataset.idleLabel) {
    button.textContent = button.dataset.idleLabel;
  }
}
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-busy]") || form.hasAttribute("hx-post")) return;
  if ("sending" in form.dataset) {
    event.preventDefault();  // a second click before the first answer arrived
    return;
  }
  form.dataset.sending = "";
  // After this turn: the browser has read the form by then (a disabled button sends no value).
  setTimeout(() => setBusy(form, event.submitter, true));
});
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("form[data-busy]");
  if (form) setBusy(form, form.querySelector("button[type=submit], button:not([type])"), true);
});
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt.closest && event.detail.elt.closest("form[data-busy]");
  if (form && form.isConnected) setBusy(form, form.querySelector("[data-idle-label]"), false);
});
// Back to a page kept in the browser's cache: its forms are not working any more.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-busy]")) {
    delete form.dataset.sending;
    setBusy(form, form.querySelector("[data-idle-label]"), false);
  }
});
