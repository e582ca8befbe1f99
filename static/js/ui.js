// Small DOM helpers shared by the pages: element builder (no innerHTML, so API data can never
// inject markup), dialogs on <dialog>, toasts, copy buttons, formatting and form errors.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value == null) continue;
    if (key.startsWith("on") && typeof value === "function")
      el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = value;
    // Through the CSSOM: a style="" attribute is inline style, refused by the CSP.
    else if (key === "style") el.style.cssText = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function pageConfig() {
  const node = document.getElementById("page-config");
  return node ? JSON.parse(node.textContent) : {};
}

// --- Toasts ---------------------------------------------------------------------------------
export function toast(message, kind = "info") {
  let box = $(".toasts");
  if (!box) {
    box = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// --- Dialogs --------------------------------------------------------------------------------
// openDialog builds a modal <dialog>; `onSubmit` returning a promise keeps the dialog open and
// shows the error inline when it rejects, so a user's typing is never lost to a failed request.
// Without onSubmit the dialog only informs: its one button says Close, not Cancel.
export function openDialog({
  title,
  body,
  submitLabel = gettext("OK"),
  danger = false,
  wide = false,
  onSubmit,
  cancelLabel = onSubmit ? gettext("Cancel") : gettext("Close"),
}) {
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const submit = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
  const form = h(
    "form",
    { method: "dialog", novalidate: true },
    h(
      "header",
      {},
      h("h2", { id: "dialog-title" }, title),
      h(
        "button",
        { type: "button", class: "link", "aria-label": gettext("Close"), onclick: () => close() },
        "✕",
      ),
    ),
    h("div", { class: "dialog-body" }, error, body),
    h(
      "footer",
      {},
      h("button", { type: "button", onclick: () => close() }, cancelLabel),
      onSubmit ? submit : null,
    ),
  );
  const dialog = h(
    "dialog",
    { class: wide ? "wide" : "", "aria-labelledby": "dialog-title" },
    form,
  );
  document.body.append(dialog);
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  dialog.addEventListener("cancel", () => setTimeout(() => dialog.remove(), 0));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!onSubmit) return close();
    error.hidden = true;
    clearFieldErrors(form);
    submit.disabled = true;
    try {
      const keepOpen = await onSubmit(form);
      if (keepOpen !== true) close();
    } catch (err) {
      showFormError(form, error, err);
    } finally {
      submit.disabled = false;
    }
  });
  dialog.showModal();
  const first = form.querySelector(
    ".dialog-body input:not([type=hidden]), .dialog-body select, .dialog-body textarea",
  );
  if (first) first.focus();
  return { dialog, form, close, error };
}

// Delete confirmation in KubeSphere style: the user types the resource name.
export function confirmByName({ title, name, message, onConfirm, extra = null }) {
  const input = h("input", { id: "confirm-name", name: "confirm", autocomplete: "off" });
  const body = h(
    "div",
    {},
    h("p", {}, message),
    extra,
    field(gettext("Type the name to confirm: %s").replace("%s", name), input),
  );
  const handle = openDialog({
    title,
    body,
    danger: true,
    submitLabel: gettext("Delete"),
    onSubmit: async () => {
      if (input.value !== name) {
        throw Object.assign(new Error(gettext("The name does not match.")), {
          fields: { confirm: gettext("The name does not match.") },
        });
      }
      await onConfirm();
    },
  });
  return handle;
}

// --- Forms ----------------------------------------------------------------------------------
let fieldCounter = 0;
export function field(labelText, control, { hint, required = false, name } = {}) {
  if (!control.id) control.id = `f-${++fieldCounter}`;
  if (name) control.name = name;
  if (required) control.required = true;
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id, class: required ? "required" : "" }, labelText),
    control,
    hintEl,
    h("span", { class: "field-error", id: `${control.id}-error`, "aria-live": "polite" }),
  );
}

export function setFieldError(control, message) {
  const err = document.getElementById(`${control.id}-error`);
  control.setAttribute("aria-invalid", message ? "true" : "false");
  if (err) err.textContent = message || "";
  if (message) {
    const described = new Set(
      (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean),
    );
    described.add(`${control.id}-error`);
    control.setAttribute("aria-describedby", [...described].join(" "));
  }
}

export function clearFieldErrors(form) {
  for (const control of $$("[aria-invalid=true]", form)) setFieldError(control, "");
}

// Field errors go under their fields; the banner says only what no field shows. The server's
// summary of a validation error ("image_name: …") is not repeated there with its raw key.
export function showFormError(form, box, err) {
  const fields = Object.entries(err.fields || {});
  const unplaced = [];
  let first = null;
  for (const [name, message] of fields) {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (control) {
      setFieldError(control, message);
      first = first || control;
    } else unplaced.push(message);
  }
  const text = fields.length ? unplaced.join(" ") : err.message || String(err);
  box.textContent = text;
  box.hidden = !text;
  if (first && !text) first.focus();
}

export function formValues(form) {
  const values = {};
  for (const control of form.elements) {
    if (!control.name) continue;
    if (control.type === "checkbox") values[control.name] = control.checked;
    else if (control.type === "radio") {
      if (control.checked) values[control.name] = control.value;
    } else if (control.type !== "file") values[control.name] = control.value;
  }
  return values;
}

// --- Formatting -----------------------------------------------------------------------------
export function formatBytes(bytes) {
  if (bytes == null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(seconds) {
  if (seconds == null || Number.isNaN(Number(seconds))) return "—";
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

// Times are stored in UTC and shown in the browser's local time zone.
export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(document.documentElement.lang || undefined);
}

const STATUS_LABELS = () => ({
  "": gettext("Not run yet"),
  none: gettext("Not run yet"),
  "not-run": gettext("Not run yet"),
  pending: gettext("Pending"),
  running: gettext("Building"),
  building: gettext("Building"),
  successful: gettext("Successful"),
  failed: gettext("Failed"),
  cancelled: gettext("Cancelled"),
});

export function statusChip(state) {
  const key = String(state || "").toLowerCase();
  const label = STATUS_LABELS()[key] ?? state;
  return h("span", { class: `chip ${key || "none"}`, dataset: { state: key || "none" } }, label);
}

// Services have their own states; they borrow the build chip colours.
export function serviceStateChip(state) {
  const key = String(state || "").toLowerCase();
  const looks = { deployed: "successful", failed: "failed", waiting: "pending" };
  const labels = {
    deployed: gettext("Deployed"),
    failed: gettext("Deploy failed"),
    waiting: gettext("Waiting for the first build"),
  };
  const chip = statusChip(looks[key] || key);
  chip.textContent = labels[key] || state || gettext("Unknown");
  return chip;
}

export function copyButton(text, label = gettext("Copy")) {
  return h(
    "button",
    {
      type: "button",
      class: "small",
      "aria-label": `${label}: ${text}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          toast(gettext("Copied to the clipboard"), "success");
        } catch {
          window.prompt(gettext("Copy this text:"), text);
        }
      },
    },
    label,
  );
}

export function reportError(err) {
  toast(err.message || String(err), "error");
}
