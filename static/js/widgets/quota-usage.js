// The workspace's quota card: each limit with a usage bar; platform admins change the limits.
import { api } from "../api.js";
import { field, formatBytes, h, openDialog, reportError, toast } from "../ui.js";

const LIMITS = () => [
  {
    key: "concurrent_builds",
    input: "max_concurrent_builds",
    label: gettext("Concurrent builds"),
    format: String,
  },
  {
    key: "artifact_bytes",
    input: "max_artifact_bytes",
    label: gettext("Artifact storage"),
    format: formatBytes,
  },
  { key: "builders", input: "max_builders", label: gettext("Image builders"), format: String },
];

function usageRow(limit, usage) {
  const { used, limit: max } = usage;
  const text =
    max == null
      ? interpolate(gettext("%(used)s (no limit)"), { used: limit.format(used) }, true)
      : interpolate(
          gettext("%(used)s of %(limit)s"),
          { used: limit.format(used), limit: limit.format(max) },
          true,
        );
  const full = max != null && used >= max;
  const bar =
    max == null
      ? null
      : h("progress", {
          max: Math.max(max, 1),
          value: Math.min(used, Math.max(max, 1)),
          class: full ? "full" : "",
          "aria-label": limit.label,
        });
  const waiting =
    usage.waiting > 0
      ? h(
          "div",
          { class: "small muted" },
          interpolate(
            gettext("%(count)s waiting for a build slot"),
            { count: usage.waiting },
            true,
          ),
        )
      : null;
  return [
    h("dt", {}, limit.label),
    h("dd", { dataset: { quota: limit.key } }, bar, " ", h("span", {}, text), waiting),
  ];
}

function editDialog(url, quota, reload) {
  const inputs = LIMITS().map((limit) =>
    field(
      limit.label,
      h("input", {
        name: limit.input,
        type: "number",
        min: limit.key === "artifact_bytes" ? 0 : 1,
        value: quota[limit.key].limit ?? "",
      }),
      {
        hint:
          limit.key === "artifact_bytes"
            ? gettext("In bytes. Empty: no limit.")
            : gettext("Empty: no limit."),
      },
    ),
  );
  openDialog({
    title: gettext("Edit Quotas"),
    body: h("div", {}, ...inputs),
    submitLabel: gettext("Save"),
    onSubmit: async (form) => {
      const body = {};
      for (const limit of LIMITS()) {
        const value = form.elements[limit.input].value.trim();
        body[limit.input] = value === "" ? null : Number(value);
      }
      await api.patch(url, body);
      toast(gettext("Quotas saved"), "success");
      reload();
    },
  });
}

export async function showQuotaUsage(container, workspaceApi) {
  const url = `${workspaceApi}/quota/`;
  const reload = () => showQuotaUsage(container, workspaceApi);
  try {
    const quota = await api.get(url);
    const list = h("dl", { class: "attrs quota-usage" });
    for (const limit of LIMITS()) list.append(...usageRow(limit, quota[limit.key]));
    const edit = quota.may_change
      ? h(
          "button",
          { type: "button", class: "small", onclick: () => editDialog(url, quota, reload) },
          gettext("Edit Quotas"),
        )
      : null;
    container.replaceChildren(
      h("div", { class: "toolbar" }, h("h2", { class: "grow" }, gettext("Quotas")), edit),
      list,
    );
  } catch (err) {
    reportError(err);
  }
}
