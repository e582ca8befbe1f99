// Members of a workspace or a project: invite, change role, remove.
import { api } from "../api.js";
import {
  confirmByName,
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
const isProject = Boolean(config.project);
const base = `${isProject ? config.api.project : config.api.workspace}/members/`;
const roles = isProject
  ? ["admin", "operator", "viewer"]
  : ["workspace-admin", "workspace-self-provisioner", "workspace-regular", "workspace-viewer"];
const canManage = Boolean(config.can.manage);

function roleSelect(current, attrs = {}) {
  return h(
    "select",
    { name: "role", ...attrs },
    roles.map((r) => h("option", { value: r, selected: r === current }, r)),
  );
}

async function changeRole(member, select) {
  try {
    await api.patch(`${base}${encodeURIComponent(member.username)}/`, { role: select.value });
    toast(gettext("Role changed"), "success");
  } catch (err) {
    select.value = member.role;
    reportError(err);
  }
}

function removeMember(member) {
  confirmByName({
    title: gettext("Remove Member"),
    name: member.username,
    message: gettext("The user loses the access this membership gave."),
    onConfirm: async () => {
      await api.delete(`${base}${encodeURIComponent(member.username)}/`);
      toast(gettext("Member removed"), "success");
      table.load();
    },
  });
}

const table = new DataTable({
  container: document.getElementById("members-table"),
  url: base,
  testid: "members",
  pageSize: 20,
  empty: gettext("No members."),
  columns: [
    { label: gettext("User"), className: "name-cell", render: (m) => m.username },
    {
      label: gettext("Role"),
      render: (m) =>
        canManage
          ? roleSelect(m.role, {
              "aria-label": `${gettext("Role")}: ${m.username}`,
              onchange: (e) => changeRole(m, e.target),
            })
          : m.role,
    },
    { label: gettext("Joined"), render: (m) => formatTime(m.created_at) },
    {
      label: "",
      className: "actions",
      render: (m) =>
        canManage
          ? h(
              "button",
              { type: "button", class: "small", onclick: () => removeMember(m) },
              gettext("Remove"),
            )
          : "",
    },
  ],
});
table.load();

document.getElementById("invite-member")?.addEventListener("click", () => {
  openDialog({
    title: gettext("Invite Member"),
    body: h(
      "div",
      {},
      field(gettext("Username"), h("input", { name: "username", autocomplete: "off" }), {
        required: true,
        hint: gettext("An existing user of this console."),
      }),
      field(gettext("Role"), roleSelect(roles[roles.length - 1])),
    ),
    submitLabel: gettext("Invite"),
    onSubmit: async (form) => {
      await api.post(base, formValues(form));
      toast(gettext("Member invited"), "success");
      table.load();
    },
  });
});
