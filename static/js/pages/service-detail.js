// Service detail: attributes, live status (pods, events, access URLs), the image-building
// panel (latest run, live log, Run) and rollback to an earlier successful run.
import { api, list } from "../api.js";
import {
  confirmByName,
  formatTime,
  h,
  openDialog,
  pageConfig,
  reportError,
  serviceStateChip,
  statusChip,
  toast,
} from "../ui.js";
import { localizeMessage } from "../messages.js";
import { LogViewer } from "../widgets/log-viewer.js";
import { openRunDialog } from "../widgets/run-dialog.js";

const config = pageConfig();
const base = `${config.api.project}/services/${config.name}/`;
const projectSocket = `/ws/workspaces/${config.workspace}/projects/${config.project}`;
let service = null;
let viewer = null;
let shownRun = null;

function attr(dl, label, ...value) {
  dl.append(h("dt", {}, label), h("dd", {}, ...value));
}

function renderAttributes() {
  const dl = document.getElementById("service-attrs");
  dl.replaceChildren();
  const spec = service.spec || {};
  attr(
    dl,
    gettext("Type"),
    spec.kind === "stateful"
      ? gettext("Stateful (StatefulSet)")
      : gettext("Stateless (Deployment)"),
  );
  attr(dl, gettext("Version"), spec.version || "v1");
  attr(
    dl,
    gettext("Ports"),
    (spec.ports || []).map((p) => `${p.name} ${p.container_port}→${p.service_port}`).join(", ") ||
      "—",
  );
  attr(dl, gettext("External access"), spec.external_access || "none");
  attr(
    dl,
    gettext("Deployed run"),
    service.deployed_run ? `#${service.deployed_run}` : gettext("Not deployed yet"),
  );
  attr(
    dl,
    gettext("Image"),
    service.deployed_image ? h("code", { class: "small" }, service.deployed_image) : "—",
  );
  // A rerun with identical inputs built the same digest: the workload was left as it was.
  if (service.unchanged_run)
    attr(
      dl,
      gettext("Last build"),
      h(
        "span",
        { id: "service-unchanged" },
        interpolate(
          gettext("No change: run #%s built the deployed image again; nothing was rolled."),
          [service.unchanged_run],
        ),
      ),
    );
  if (service.error)
    attr(
      dl,
      gettext("Error"),
      h(
        "span",
        { style: "color:var(--danger)", title: service.error.message },
        localizeMessage(service.error.code, service.error.message),
      ),
    );
  document.getElementById("service-status").replaceChildren(serviceStateChip(service.state));
}

async function loadStatus() {
  const pods = document.getElementById("service-pods");
  const events = document.getElementById("service-events");
  try {
    const status = await api.get(`${base}status/`);
    pods.replaceChildren(
      h("p", {}, `${gettext("Ready replicas")}: ${status.ready}/${status.desired}`),
      ...(status.access_urls || []).map((u) =>
        h(
          "p",
          {},
          gettext("Access URL"),
          ": ",
          h("a", { href: u, target: "_blank", rel: "noopener" }, u),
        ),
      ),
      h(
        "ul",
        {},
        (status.pods || []).map((p) => h("li", {}, `${p.name} · ${p.phase}`)),
      ),
    );
    events.replaceChildren(
      status.events?.length
        ? h(
            "table",
            { class: "data" },
            h(
              "tbody",
              {},
              status.events.map((e) =>
                h(
                  "tr",
                  {},
                  h("td", {}, e.type || ""),
                  h("td", {}, e.reason || ""),
                  h("td", {}, e.message || ""),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, gettext("No events.")),
    );
  } catch (err) {
    pods.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

async function renderBuildPanel() {
  const body = document.getElementById("build-panel-body");
  if (!service.builder) {
    body.replaceChildren(h("p", { class: "muted" }, gettext("The image builder was deleted.")));
    return;
  }
  const builderBase = `${config.api.project}/imagebuilders/${service.builder}/`;
  const [builder, runs] = await Promise.all([
    api.get(builderBase),
    list(`${builderBase}runs/`, { limit: 10 }),
  ]);
  const latest = runs.results[0];
  const controls = h(
    "div",
    { class: "toolbar" },
    h(
      "span",
      {},
      gettext("Latest run"),
      latest ? ` #${latest.number} ` : " —",
      latest ? statusChip(latest.state) : null,
    ),
    h("span", { class: "grow" }),
    config.can.operate
      ? h(
          "button",
          {
            type: "button",
            class: "primary",
            onclick: () => openRunDialog({ config, builder, onStarted: () => renderBuildPanel() }),
          },
          gettext("Run"),
        )
      : null,
    config.can.operate ? rollbackControl(runs.results) : null,
    h(
      "a",
      { class: "button", href: `${config.urls.project}imagebuilders/${service.builder}/` },
      gettext("Image builder"),
    ),
  );
  if (latest && shownRun !== latest.number) {
    viewer?.stop();
    shownRun = latest.number;
    viewer = new LogViewer({
      paths: {
        socket: `${projectSocket}/imagebuilders/${service.builder}/runs/${latest.number}/log/`,
        text: `${builderBase}runs/${latest.number}/log.txt`,
      },
      onState: (state) => {
        if (["successful", "failed", "cancelled"].includes(state.state)) setTimeout(refresh, 1000);
      },
      height: "240px",
    }).start();
  }
  body.replaceChildren(
    controls,
    viewer ? viewer.element : h("p", { class: "empty" }, gettext("No run yet.")),
  );
}

function rollbackControl(runs) {
  if (runs.filter((r) => r.state === "successful").length < 2) return null;
  return h("button", { type: "button", onclick: openRollback }, gettext("Roll back"));
}

// The choices are read when the dialog opens, so a deploy that landed meanwhile is counted.
async function openRollback() {
  const [current, runs] = await Promise.all([
    api.get(base),
    list(`${config.api.project}/imagebuilders/${service.builder}/runs/`, { limit: 50 }),
  ]);
  const earlier = runs.results.filter(
    (r) => r.state === "successful" && r.number !== current.deployed_run,
  );
  const select = h(
    "select",
    { name: "run", id: "rollback-run" },
    earlier.map((r) =>
      h("option", { value: r.number }, `#${r.number} · ${r.tag} · ${formatTime(r.finished_at)}`),
    ),
  );
  openDialog({
    title: gettext("Roll back"),
    submitLabel: gettext("Roll back"),
    body: h(
      "div",
      { class: "field" },
      h("label", { for: "rollback-run" }, gettext("Deploy the image of run")),
      select,
    ),
    onSubmit: async () => {
      await api.post(`${base}rollback/`, { run: Number(select.value) });
      toast(gettext("Rolled back"), "success");
      refresh();
    },
  });
}

async function refresh() {
  try {
    service = await api.get(base);
    renderAttributes();
    await Promise.all([loadStatus(), renderBuildPanel()]);
  } catch (err) {
    reportError(err);
  }
}

document.getElementById("delete-service")?.addEventListener("click", () => {
  const alsoBuilder = h("input", { type: "checkbox", name: "builder" });
  confirmByName({
    title: gettext("Delete Service"),
    name: config.name,
    message: gettext(
      "The workload, the Kubernetes Service and the pull secret are deleted; the image builder stays.",
    ),
    extra: h(
      "label",
      { class: "field inline" },
      alsoBuilder,
      gettext("Also delete the image builder, its runs and logs"),
    ),
    onConfirm: async () => {
      await api.delete(`${base}?builder=${alsoBuilder.checked}`);
      window.location.assign(`${config.urls.project}services/`);
    },
  });
});
refresh();
setInterval(loadStatus, 10000);
