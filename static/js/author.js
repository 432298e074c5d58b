// Authoring enhancements; every authoring page works without this file.
document.documentElement.classList.add("js");

// After htmx adds or removes an option row, put the keyboard focus on the row the server
// names in data-focus-row (the new row, or the one that took the removed row's place).
document.addEventListener("htmx:afterSettle", (event) => {
  const rows = event.target;
  if (!rows || rows.id !== "rows") return;
  const number = parseInt(rows.dataset.focusRow || "", 10);
  if (!number) return;
  const row = rows.querySelectorAll(".editor-row")[number - 1];
  const field = row && row.querySelector("textarea, input:not([type=hidden])");
  if (field) field.focus();
});
