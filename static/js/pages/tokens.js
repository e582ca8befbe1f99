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

document.getElementById("create-token").addEventListener("click", () => {
  openDialog({
    title: gettext("Create Token"),
    body: h(
      "div",
      {},
      field(gettext("Name"), h("input", { name: "name", maxlength: 100 }), {
        required: true,
        hint: gettext("What will use it, e.g. “CI pipeline”."),
      }),
    ),
    submitLabel: gettext("Create"),
    onSubmit: async (form) => {
      const created = await api.post(url, formValues(form));
      table.load();
      setTimeout(() => showToken(created), 0);
    },
  });
});
