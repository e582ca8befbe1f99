// Workspaces list + Create Workspace dialog.
import { api } from "../api.js";
import { field, formatTime, formValues, h, openDialog, pageConfig, toast } from "../ui.js";
import { DataTable } from "../widgets/table.js";

const config = pageConfig();
const search = document.getElementById("search");
const url = `${config.api.root}/workspaces/`;

const table = new DataTable({
  container: document.getElementById("workspaces-table"),
  url,
  testid: "workspaces",
  empty: gettext("No workspace yet. Ask a platform administrator to invite you, or create one."),
  params: () => ({ search: search.value }),
  clientFilter: (ws) =>
    !search.value || ws.name.includes(search.value) || (ws.alias || "").includes(search.value),
  columns: [
    {
      label: gettext("Name"),
      className: "name-cell",
      render: (ws) => [
        h("a", { href: `/workspaces/${ws.name}/` }, ws.name),
        ws.alias ? h("span", { class: "alias" }, ws.alias) : null,
      ],
    },
    { label: gettext("Description"), render: (ws) => ws.description || "—" },
    { label: gettext("My role"), render: (ws) => ws.my_role || "—" },
    { label: gettext("Created"), render: (ws) => formatTime(ws.created_at) },
  ],
});
table.load();
search.addEventListener("input", () => {
  table.offset = 0;
  table.load();
});

export function nameFields() {
  return [
    field(
      gettext("Name"),
      h("input", {
        name: "name",
        pattern: "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
        maxlength: 63,
        autocomplete: "off",
      }),
      {
        required: true,
        hint: gettext("Lowercase letters, digits and '-', at most 63 characters."),
      },
    ),
    field(gettext("Alias"), h("input", { name: "alias", maxlength: 63 })),
    field(gettext("Description"), h("textarea", { name: "description", maxlength: 256 })),
  ];
}

document.getElementById("create-workspace")?.addEventListener("click", () => {
  openDialog({
    title: gettext("Create Workspace"),
    body: h("div", {}, nameFields()),
    submitLabel: gettext("Create"),
    onSubmit: async (form) => {
      const created = await api.post(url, formValues(form));
      toast(gettext("Workspace created"), "success");
      window.location.assign(`/workspaces/${created.name}/`);
    },
  });
});
