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
