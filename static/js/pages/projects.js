// Projects of a workspace + Create Project dialog.
import { api } from "../api.js";
import { field, formatTime, formValues, h, openDialog, pageConfig, toast } from "../ui.js";
import { showQuotaUsage } from "../widgets/quota-usage.js";
import { DataTable } from "../widgets/table.js";

const config = pageConfig();
const search = document.getElementById("search");
const url = `${config.api.workspace}/projects/`;
const projectUrl = (p) => `/workspaces/${config.workspace}/projects/${p.name}/`;

const table = new DataTable({
  container: document.getElementById("projects-table"),
  url,
  testid: "projects",
  empty: gettext("No project you can see in this workspace yet."),
  params: () => ({ search: search.value }),
  clientFilter: (p) =>
    !search.value || p.name.includes(search.value) || (p.alias || "").includes(search.value),
  columns: [
    {
      label: gettext("Name"),
      className: "name-cell",
      render: (p) => [
        h("a", { href: projectUrl(p) }, p.name),
        p.alias ? h("span", { class: "alias" }, p.alias) : null,
      ],
    },
    { label: gettext("Description"), render: (p) => p.description || "—" },
    { label: gettext("My role"), render: (p) => p.my_role || "—" },
    { label: gettext("Created"), render: (p) => formatTime(p.created_at) },
  ],
});
table.load();
showQuotaUsage(document.getElementById("workspace-quota"), config.api.workspace);
search.addEventListener("input", () => {
  table.offset = 0;
  table.load();
});

document.getElementById("create-project")?.addEventListener("click", () => {
  openDialog({
    title: gettext("Create Project"),
    body: h(
      "div",
      {},
      field(gettext("Name"), h("input", { name: "name", maxlength: 63, autocomplete: "off" }), {
        required: true,
        hint: gettext(
          "The Kubernetes namespace: lowercase letters, digits and '-', unique in the installation.",
        ),
      }),
      field(gettext("Alias"), h("input", { name: "alias", maxlength: 63 })),
      field(gettext("Description"), h("textarea", { name: "description", maxlength: 256 })),
    ),
    submitLabel: gettext("Create"),
    onSubmit: async (form) => {
      const created = await api.post(url, formValues(form));
      toast(gettext("Project created"), "success");
      window.location.assign(projectUrl(created));
    },
  });
});
