// The last module of every page. Buttons that only scripts make work are sent disabled
// (data-enabled-by-script); module scripts run in document order, so by the time this one runs
// every page module has wired its buttons, and a press can no longer fall on a button that
// does nothing yet (one did, on a busy machine, right after the page arrived).
for (const button of document.querySelectorAll("[data-enabled-by-script]")) {
  button.disabled = false;
  button.removeAttribute("data-enabled-by-script");
}
