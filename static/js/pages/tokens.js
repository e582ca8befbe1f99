// Personal API tokens: create (shown once), list, revoke.
import { api } from "../api.js";
import {
  copyButton,
  field,
  formatTime,
  formValues,
  h,
  openDialog,
  pageConfig,
  reportError,
  toast,
} from "../ui.js";
import { DataTable } from "../widgets/table.js";

const config = pageConfig();
const url = config.api.tokens;

const table = new DataTable({
  container: document.getElementById("tokens-table"),
  url,
  testid: "tokens",
  pageSize: 20,
  empty: gettext("No API token yet."),
  columns: [
    { label: gettext("Name"), className: "name-cell", render: (t) => t.name },
    { label: gettext("Prefix"), render: (t) => h("code", {}, `${t.prefix}…`) },
    {
      label: gettext("Scope"),
      render: (t) => (t.scope === "read" ? gettext("Read-only") : gettext("Full")),
    },
    { label: gettext("Created"), render: (t) => formatTime(t.created_at) },
    { label: gettext("Last used"), render: (t) => formatTime(t.last_used_at) },
    {
      label: gettext("Expires"),
      render: (t) => (t.expires_at ? formatTime(t.expires_at) : gettext("Never")),
    },
    {
      label: "",
      className: "actions",
      render: (t) =>
        h(
          "button",
          { type: "button", class: "small", onclick: () => revoke(t) },
          gettext("Revoke"),
        ),
    },
  ],
});
table.load();

async function revoke(token) {
  if (!window.confirm(gettext("Revoke this token? Scripts using it stop working."))) return;
  try {
    await api.delete(`${url}${token.id}/`);
    toast(gettext("Token revoked"), "success");
    table.load();
  } catch (err) {
    reportError(err);
  }
}

function showToken(created) {
  openDialog({
    title: gettext("Token created"),
    body: h(
      "div",
      {},
      h("p", {}, gettext("Copy the token now; it will not be shown again.")),
      h(
        "p",
        {},
        h("code", { "data-testid": "new-token" }, created.token),
        " ",
        copyButton(created.token),
      ),
    ),
  });
}

const DEFAULT_EXPIRY_DAYS = 90;

function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

function defaultExpiry() {
  return isoDate(new Date(Date.now() + DEFAULT_EXPIRY_DAYS * 86400 * 1000));
}

// The token stops working at the end of the chosen day (local time); no date: never expires.
function tokenBody(values) {
  const body = { name: values.name, scope: values.scope };
  if (values.expires_on) body.expires_at = new Date(`${values.expires_on}T23:59:59`).toISOString();
  return body;
}

function tokenForm() {
  const tomorrow = isoDate(new Date(Date.now() + 86400 * 1000));
  return h(
    "div",
    {},
    field(gettext("Name"), h("input", { name: "name", maxlength: 100 }), {
      required: true,
      hint: gettext("What will use it, e.g. “CI pipeline”."),
    }),
    field(
      gettext("Scope"),
      h(
        "select",
        { name: "scope" },
        h("option", { value: "read" }, gettext("Read-only (GET requests)")),
        h("option", { value: "full" }, gettext("Full (may change things)")),
      ),
    ),
    field(
      gettext("Expires on"),
      h("input", { name: "expires_on", type: "date", value: defaultExpiry(), min: tomorrow }),
      { hint: gettext("Leave empty for a token that never expires.") },
    ),
  );
}

document.getElementById("create-token").addEventListener("click", () => {
  openDialog({
    title: gettext("Create Token"),
    body: tokenForm(),
    submitLabel: gettext("Create"),
    onSubmit: async (form) => {
      const created = await api.post(url, tokenBody(formValues(form)));
      table.load();
      setTimeout(() => showToken(created), 0);
    },
  });
});
