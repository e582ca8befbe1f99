// Image Builder detail: attributes, environment, run records with an expandable live log and
// Dependencies (the run's SBOM, what changed since another run), Run (dialog), Cancel on an
// active run, Delete, and the image artifacts of successful runs.
import { api, list } from "../api.js";
import {
  confirmByName,
  copyButton,
  formatBytes,
  formatDuration,
  formatTime,
  h,
  pageConfig,
  reportError,
  statusChip,
  toast,
} from "../ui.js";
import { describeInspection, localizeMessage } from "../messages.js";
import { changeSummary, changeSummaryTitle, RunTabs } from "../widgets/dependencies.js";
import { LogViewer } from "../widgets/log-viewer.js";
import { openRunDialog } from "../widgets/run-dialog.js";

const config = pageConfig();
const base = `${config.api.project}/imagebuilders/${config.name}/`;
const socketBase = `/ws/workspaces/${config.workspace}/projects/${config.project}/imagebuilders/${config.name}/runs/`;
const ACTIVE = ["pending", "running"];
const KIND_LABEL = { jar: "JAR", war: "WAR", binary: gettext("Binary") };
const runRows = new Map(); // number -> {row, logRow, viewer, tabs}
const COLUMNS = 8;
let builder = null;
let runs = [];
let timer = null;

const runsBody = h("tbody");
document.getElementById("runs-table").append(
  h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "data runs", "data-testid": "runs" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          [
            gettext("Run"),
            gettext("Status"),
            gettext("Tag"),
            gettext("Started"),
            gettext("Duration"),
            gettext("Digest"),
            gettext("Pushed / reused"),
            "",
          ].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      runsBody,
    ),
  ),
);

function attr(dl, label, ...value) {
  dl.append(h("dt", {}, label), h("dd", {}, ...value));
}

// The token travels in a header, never in the URL (URLs end up in access logs and histories);
// only operators get it, others are told a token is set.
function triggerExample(b) {
  if (!b.trigger_url)
    return b.has_trigger_token
      ? gettext("Set (shown to operators only)")
      : gettext("No trigger token set");
  const command = `curl -X POST -H "X-B2I-Trigger-Token: ${b.trigger_token}" ${b.trigger_url}`;
  return [
    h("code", { class: "small", "data-testid": "trigger-example" }, command),
    " ",
    copyButton(command),
  ];
}

function renderAttributes() {
  const dl = document.getElementById("builder-attrs");
  dl.replaceChildren();
  document.getElementById("builder-title").textContent = builder.alias
    ? `${builder.name} (${builder.alias})`
    : builder.name;
  attr(
    dl,
    gettext("Type"),
    `${gettext("Artifact-to-image")} · ${KIND_LABEL[builder.artifact_kind] || builder.artifact_kind}`,
  );
  attr(dl, gettext("Build environment"), builder.environment);
  attr(dl, gettext("Image"), h("code", {}, `${builder.image_name}:${builder.tag}`));
  attr(dl, gettext("Target registry"), builder.registry_secret);
  const a = builder.artifact;
  const download =
    a &&
    h(
      "a",
      {
        href: `${config.api.project}/artifacts/${a.sha256}/download/?name=${encodeURIComponent(a.file_name)}`,
        download: a.file_name,
        "data-testid": "artifact-download",
      },
      gettext("Download"),
    );
  attr(
    dl,
    gettext("Artifact"),
    a
      ? [
          a.file_name,
          ` · ${formatBytes(a.size)} · `,
          download,
          h("div", { class: "small muted" }, describeInspection(a.inspection, a.summary)),
        ]
      : "—",
  );
  if (a) attr(dl, "sha256", h("code", { class: "small" }, a.sha256), " ", copyButton(a.sha256));
  attr(dl, gettext("Update workloads"), builder.update_workloads ? gettext("Yes") : gettext("No"));
  attr(dl, gettext("Trigger"), triggerExample(builder));
  attr(
    dl,
    gettext("Created"),
    formatTime(builder.created_at),
    builder.created_by ? ` · ${builder.created_by}` : "",
  );
  const env = document.getElementById("builder-env");
  const params = Object.entries(builder.environment_parameters || {});
  env.replaceChildren();
  attr(env, gettext("Environment"), builder.environment);
  for (const [key, value] of params) attr(env, key, h("code", {}, value));
  if (!params.length)
    attr(env, gettext("Variables"), gettext("None set; the environment's defaults apply."));
}

// A queued run has not started: its time is when it was queued, until a worker takes it.
function startedCell(run) {
  if (run.state !== "pending" || run.started_at)
    return formatTime(run.started_at || run.created_at);
  return h(
    "span",
    { class: "queued", "data-testid": "queued-at" },
    gettext("Queued at %s").replace("%s", formatTime(run.created_at)),
    // A run its workspace's quota holds back says so in the status cell (slotWait) instead.
    run.waiting_for_slot
      ? null
      : h("div", { class: "small muted" }, gettext("Waiting for a worker")),
  );
}

// A queued run its workspace's concurrent-build quota holds back: say why it waits.
function slotWait(run) {
  const wait = run.waiting_for_slot;
  if (!wait) return null;
  const text = interpolate(
    gettext("Waiting for a build slot (%(used)s of %(limit)s in use)"),
    { used: wait.used, limit: wait.limit ?? "∞" },
    true,
  );
  return h("div", { class: "small run-waiting", "data-testid": "slot-wait" }, text);
}

function runCells(run) {
  const active = ACTIVE.includes(run.state);
  return [
    h(
      "td",
      {},
      h(
        "button",
        {
          type: "button",
          class: "link",
          "aria-expanded": String(Boolean(runRows.get(run.number)?.logRow)),
          onclick: () => toggleLog(run.number),
        },
        `#${run.number}`,
      ),
    ),
    h(
      "td",
      { class: "run-status" },
      statusChip(run.state),
      slotWait(run),
      run.error_message
        ? h(
            "div",
            { class: "small run-error", title: run.error_message },
            localizeMessage(run.error_code, run.error_message),
          )
        : null,
      dependencySummary(run),
    ),
    h("td", {}, h("code", { class: "run-tag" }, run.tag)),
    h("td", {}, startedCell(run)),
    h("td", {}, formatDuration(run.duration)),
    h(
      "td",
      {},
      run.digest
        ? [
            h("code", { class: "small", title: run.digest }, `${run.digest.slice(0, 19)}…`),
            " ",
            copyButton(run.digest),
          ]
        : "—",
    ),
    h(
      "td",
      {},
      run.digest ? `${formatBytes(run.bytes_pushed)} / ${formatBytes(run.bytes_reused)}` : "—",
    ),
    h(
      "td",
      { class: "actions" },
      h(
        "button",
        { type: "button", class: "small", onclick: () => toggleLog(run.number) },
        gettext("Log"),
      ),
      active && config.can.operate
        ? h(
            "button",
            { type: "button", class: "small", onclick: () => cancel(run) },
            gettext("Cancel"),
          )
        : null,
    ),
  ];
}

// Under the run's status (the table has no width left for a column): "+1 −0 ↑3" since the
// run it was compared with, a button opening its Dependencies tab.
function dependencySummary(run) {
  const text = changeSummary(run.supply_chain);
  if (!run.supply_chain) return null;
  return h(
    "button",
    {
      type: "button",
      class: "link small dep-summary-cell",
      title: text ? changeSummaryTitle(run.supply_chain) : "",
      "data-testid": "dependency-summary-cell",
      onclick: () => openRun(run.number, "dependencies"),
    },
    text || gettext("SBOM"),
  );
}

function renderRuns() {
  if (!runs.length) {
    runsBody.replaceChildren(
      h("tr", {}, h("td", { colspan: COLUMNS, class: "empty" }, gettext("No run yet."))),
    );
    return;
  }
  const rows = [];
  for (const run of runs) {
    let entry = runRows.get(run.number);
    if (!entry) {
      entry = { row: h("tr", { dataset: { run: run.number } }) };
      runRows.set(run.number, entry);
    }
    entry.row.dataset.state = run.state;
    entry.row.replaceChildren(...runCells(run));
    entry.tabs?.update(run);
    rows.push(entry.row);
    if (entry.logRow) rows.push(entry.logRow);
  }
  runsBody.replaceChildren(...rows);
}

function toggleLog(number, open) {
  const entry = runRows.get(number);
  if (!entry) return;
  if (entry.logRow && open !== true) {
    entry.viewer.stop();
    entry.logRow = null;
    entry.viewer = null;
    entry.tabs = null;
  } else if (!entry.logRow) {
    entry.viewer = new LogViewer({
      paths: { socket: `${socketBase}${number}/log/`, text: `${base}runs/${number}/log.txt` },
      onState: (state) => applyState(number, state),
    }).start();
    const run = runs.find((r) => r.number === number);
    entry.tabs = new RunTabs({ base, run, logViewer: entry.viewer });
    entry.logRow = h(
      "tr",
      { class: "run-log-row", dataset: { logFor: number } },
      h("td", { colspan: COLUMNS }, entry.tabs.element),
    );
  }
  renderRuns();
}

// Open a run's row on one of its tabs ("log" or "dependencies").
function openRun(number, tab) {
  toggleLog(number, true);
  runRows.get(number)?.tabs?.select(tab);
}

// `#run-5` (the provenance names a run so) opens run 5; `#run-5-dependencies` its Dependencies.
function openRunOfHash() {
  const match = /^#run-(\d+)(-dependencies)?$/.exec(window.location.hash);
  if (!match || !runRows.has(Number(match[1]))) return false;
  openRun(Number(match[1]), match[2] ? "dependencies" : "log");
  return true;
}

function applyState(number, state) {
  const run = runs.find((r) => r.number === number);
  if (!run || run.state === state.state) return;
  // A state change (e.g. Successful) brings sizes and digest: reload the records.
  loadRuns();
}

async function cancel(run) {
  try {
    await api.post(`${base}runs/${run.number}/cancel/`);
    toast(gettext("Cancelling run #%s…").replace("%s", run.number));
    loadRuns();
  } catch (err) {
    reportError(err);
  }
}

function renderHeader() {
  const latest = runs[0];
  const status = document.getElementById("builder-status");
  status.replaceChildren(
    statusChip(latest ? latest.state : "not-run"),
    latest ? ` #${latest.number}` : "",
  );
  const cancelButton = document.getElementById("cancel-run");
  if (cancelButton) cancelButton.hidden = !(latest && ACTIVE.includes(latest.state));
}

// One row per pushed image: runs that pushed the same digest (the same inputs again, or only a
// new tag) are one image, shown once with every reference it was pushed under and its runs.
function pushedImages() {
  const images = new Map();
  for (const run of runs.filter((r) => r.state === "successful" && r.digest)) {
    const image = images.get(run.digest);
    if (!image) {
      images.set(run.digest, { run, references: [run.image_reference], numbers: [run.number] });
      continue;
    }
    if (!image.references.includes(run.image_reference)) image.references.push(run.image_reference);
    image.numbers.push(run.number);
    image.run = run; // runs come newest first: the oldest one pushed it first
  }
  return [...images.values()];
}

function renderArtifacts() {
  const images = pushedImages();
  const box = document.getElementById("artifacts-table");
  if (!images.length) {
    box.replaceChildren(h("p", { class: "empty" }, gettext("No image pushed yet.")));
    return;
  }
  const headers = [
    gettext("Image"),
    gettext("Digest"),
    gettext("Size"),
    gettext("Pull command"),
    gettext("First pushed"),
    gettext("Runs"),
  ];
  box.replaceChildren(
    h(
      "table",
      { class: "data", "data-testid": "image-artifacts" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((t) => h("th", {}, t)),
        ),
      ),
      h("tbody", {}, images.map(imageRow)),
    ),
  );
}

function imageRow({ run, references, numbers }) {
  return h(
    "tr",
    { "data-digest": run.digest },
    h(
      "td",
      {},
      references.map((reference) => h("code", { class: "image-reference" }, reference)),
    ),
    h(
      "td",
      { class: "nowrap" },
      h("code", { class: "small" }, `${run.digest.slice(0, 19)}…`),
      " ",
      copyButton(run.digest),
    ),
    h("td", { class: "nowrap" }, formatBytes(run.compressed_size)),
    h("td", {}, h("code", { class: "small" }, run.pull_command), " ", copyButton(run.pull_command)),
    h("td", { class: "nowrap" }, formatTime(run.finished_at)),
    h("td", { class: "nowrap" }, numbers.map((n) => `#${n}`).join(", ")),
  );
}

async function loadRuns() {
  clearTimeout(timer);
  try {
    runs = (await list(`${base}runs/`, { limit: 10 })).results;
    const opened = runRows.size === 0 && runs.length;
    renderRuns();
    renderHeader();
    renderArtifacts();
    // The newest run's live log is open at first, unless the address names another run.
    if (opened && !openRunOfHash()) toggleLog(runs[0].number, true);
  } catch (err) {
    reportError(err);
  }
  const busy = runs.some((r) => ACTIVE.includes(r.state));
  timer = setTimeout(loadRuns, busy ? 3000 : 15000);
}

async function loadBuilder() {
  builder = await api.get(base);
  renderAttributes();
}

// The buttons are in the page before the builder and its runs have arrived: a press that
// early waits for them instead of doing nothing (it did, on a busy machine).
document.getElementById("run-builder")?.addEventListener("click", async () => {
  await firstLoad;
  if (!builder) return;
  openRunDialog({
    config,
    builder,
    onStarted: async (run) => {
      await loadBuilder();
      await loadRuns();
      for (const [number, entry] of runRows)
        if (number !== run.number && entry.logRow) toggleLog(number);
      toggleLog(run.number, true);
    },
  });
});
document.getElementById("cancel-run")?.addEventListener("click", async () => {
  await firstLoad;
  if (runs[0]) cancel(runs[0]);
});
document.getElementById("delete-builder")?.addEventListener("click", () =>
  confirmByName({
    title: gettext("Delete Image Builder"),
    name: config.name,
    message: gettext(
      "The builder, its runs and logs are deleted; pushed images stay in the registry.",
    ),
    onConfirm: async () => {
      await api.delete(`${base}?confirm=${encodeURIComponent(config.name)}`);
      window.location.assign(`${config.urls.project}imagebuilders/`);
    },
  }),
);

window.addEventListener("hashchange", openRunOfHash);
const firstLoad = loadBuilder().then(loadRuns).catch(reportError);
