// Image Builders list: live status chips (refreshed while something builds), search, status
// filter, pagination; row actions Run, Edit, Delete (type the name).
import { api, list } from "../api.js";
import {
  confirmByName,
  field,
  formatDuration,
  formatTime,
  formValues,
  h,
  openDialog,
  pageConfig,
  statusChip,
  toast,
} from "../ui.js";
import { DataTable } from "../widgets/table.js";
import { openRunDialog } from "../widgets/run-dialog.js";

const config = pageConfig();
const base = `${config.api.project}/imagebuilders/`;
const detail = (b) => `${config.urls.project}imagebuilders/${b.name}/`;
const search = document.getElementById("search");
const filter = document.getElementById("status-filter");
const canOperate = Boolean(config.can.operate);
const lastRunTime = (run) => run.finished_at || run.started_at || run.created_at;
// A queued run shows when it was queued and that it waits, not a start time it does not have.
function lastRunText(run) {
  const head = `#${run.number} · ${run.tag} · `;
  if (run.state !== "pending" || run.started_at) return head + formatTime(lastRunTime(run));
  const queued = gettext("Queued at %s").replace("%s", formatTime(run.created_at));
  return `${head}${queued} · ${gettext("Waiting for a worker")}`;
}
const KIND_LABEL = { jar: "JAR", war: "WAR", binary: gettext("Binary") };

function edit(builder) {
  openDialog({
    title: gettext("Edit Information"),
    body: h(
      "div",
      {},
      field(gettext("Alias"), h("input", { name: "alias", value: builder.alias, maxlength: 63 })),
      field(
        gettext("Description"),
        Object.assign(h("textarea", { name: "description", maxlength: 256 }), {
          value: builder.description || "",
        }),
      ),
      field(gettext("Tag"), h("input", { name: "tag", value: builder.tag }), { required: true }),
    ),
    submitLabel: gettext("Save"),
    onSubmit: async (form) => {
      await api.patch(`${base}${builder.name}/`, formValues(form));
      toast(gettext("Saved"), "success");
      table.load();
    },
  });
}

function remove(builder) {
  confirmByName({
    title: gettext("Delete Image Builder"),
    name: builder.name,
    message: gettext(
      "The builder, its runs and logs are deleted; pushed images stay in the registry.",
    ),
    onConfirm: async () => {
      await api.delete(`${base}${builder.name}/?confirm=${encodeURIComponent(builder.name)}`);
      toast(gettext("Deleted"), "success");
      table.load();
    },
  });
}

const actions = (b) =>
  canOperate
    ? [
        h(
          "button",
          {
            type: "button",
            class: "small",
            onclick: () => openRunDialog({ config, builder: b, onStarted: () => table.load() }),
          },
          gettext("Run"),
        ),
        h("button", { type: "button", class: "small", onclick: () => edit(b) }, gettext("Edit")),
        h(
          "button",
          { type: "button", class: "small", onclick: () => remove(b) },
          gettext("Delete"),
        ),
      ]
    : "";

const table = new DataTable({
  container: document.getElementById("builders-table"),
  url: base,
  testid: "builders",
  pageSize: 10,
  empty: gettext("No image builder yet."),
  params: () => ({ search: search.value, status: filter.value }),
  columns: [
    {
      label: gettext("Name"),
      className: "name-cell",
      render: (b) => [
        h("a", { href: detail(b) }, b.name),
        h("span", { class: "alias" }, b.alias || b.description || ""),
      ],
    },
    { label: gettext("Status"), render: (b) => statusChip(b.status) },
    {
      label: gettext("Type"),
      render: (b) =>
        `${gettext("Artifact-to-image")} · ${KIND_LABEL[b.artifact_kind] || b.artifact_kind}`,
    },
    {
      label: gettext("Service"),
      render: (b) =>
        serviceOf[b.name]
          ? h(
              "a",
              { href: `${config.urls.project}services/${serviceOf[b.name]}/` },
              serviceOf[b.name],
            )
          : "—",
    },
    {
      label: gettext("Last run"),
      render: (b) => (b.latest_run ? lastRunText(b.latest_run) : "—"),
    },
    { label: gettext("Duration"), render: (b) => formatDuration(b.latest_run?.duration) },
    { label: gettext("Created"), render: (b) => formatTime(b.created_at) },
    { label: "", className: "actions", render: actions },
  ],
});

// builder name -> the service it builds for ("build image for service X" in KubeSphere).
let serviceOf = {};
async function loadServices() {
  try {
    const { results } = await list(`${config.api.project}/services/`);
    serviceOf = Object.fromEntries(
      results.filter((s) => s.builder).map((s) => [s.builder, s.name]),
    );
  } catch {
    serviceOf = {}; // no cluster configured: builders still list, without services
  }
}

let timer = null;
async function refresh() {
  clearTimeout(timer);
  await loadServices();
  const rows = await table.load({ quiet: true });
  // Live status without a socket per row: poll while something builds, stop when idle.
  const busy = rows.some((b) => b.status === "building");
  timer = setTimeout(refresh, busy ? 2000 : 10000);
}
refresh();
search.addEventListener("input", () => {
  table.offset = 0;
  refresh();
});
filter.addEventListener("change", () => {
  table.offset = 0;
  refresh();
});
document.getElementById("refresh").addEventListener("click", refresh);
