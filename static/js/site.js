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
