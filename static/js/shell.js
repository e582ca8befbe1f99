// The console shell: workspace/project switchers and the user menu (keyboard: Enter/Space
// opens, Escape closes and returns focus to the button).

function wireSwitcher(select, placeholder) {
  if (!select) return;
  select.addEventListener("change", () => {
    if (select.value)
      window.location.assign(
        select.dataset.urlTemplate.replace(placeholder, encodeURIComponent(select.value)),
      );
  });
}

function wireMenu(button, list) {
  if (!button || !list) return;
  const setOpen = (open) => {
    list.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => {
    setOpen(list.hidden);
    if (!list.hidden) list.querySelector("a, button, select")?.focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !list.hidden) {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!list.hidden && !list.contains(event.target) && event.target !== button) setOpen(false);
  });
}

wireSwitcher(document.getElementById("switch-workspace"), "__ws__");
wireSwitcher(document.getElementById("switch-project"), "__p__");
wireMenu(document.getElementById("user-menu-button"), document.getElementById("user-menu"));
