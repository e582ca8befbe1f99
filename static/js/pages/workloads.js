// Deployments / StatefulSets / Jobs of the project. The console manages workloads through
// services, so these lists come from the services' live status (one workload per service).
import { api, list } from "../api.js";
import { formatDuration, formatTime, h, pageConfig } from "../ui.js";

const config = pageConfig();
const box = document.getElementById("workloads-table");
const wanted = { deployments: "stateless", statefulsets: "stateful" }[config.workload_kind];

async function row(service) {
  let status = null;
  try {
    status = await api.get(`${config.api.project}/services/${service.name}/status/`);
  } catch (err) {
    status = { error: err.message };
  }
  const pods = status.pods || [];
  return h(
    "tr",
    { dataset: { name: service.name } },
    h(
      "td",
      { class: "name-cell" },
      h(
        "a",
        { href: `${config.urls.project}services/${service.name}/` },
        status.name || `${service.name}-${service.spec?.version || "v1"}`,
      ),
    ),
    h(
      "td",
      {},
      status.error
        ? h("span", { class: "chip failed" }, status.error)
        : h(
            "span",
            {
              class: `chip ${status.ready >= status.desired && status.desired > 0 ? "successful" : "running"}`,
            },
            `${status.ready ?? 0}/${status.desired ?? 0}`,
          ),
    ),
    h(
      "td",
      {},
      pods.map((p) => h("div", { class: "small" }, `${p.name} · ${p.phase}`)),
    ),
    h("td", {}, status.image ? h("code", { class: "small" }, status.image) : "—"),
    h("td", {}, service.name),
  );
}

async function load() {
  if (!wanted) return loadJobs();
  try {
    const services = (await list(`${config.api.project}/services/`)).results.filter(
      (s) => (s.spec?.kind || "stateless") === wanted,
    );
    const rows = await Promise.all(services.map(row));
    if (!rows.length)
      rows.push(
        h("tr", {}, h("td", { colspan: 5, class: "empty" }, gettext("No workload of this kind."))),
      );
    box.replaceChildren(
      h(
        "table",
        { class: "data", "data-testid": "workloads" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              gettext("Name"),
              gettext("Ready"),
              gettext("Pods"),
              gettext("Image"),
              gettext("Service"),
            ].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "form-error" }, err.message));
  }
}
// Build Jobs (Kubernetes Job executor), read live from the project's namespace.
function jobRow(job) {
  const seconds =
    job.started_at && job.completed_at
      ? (Date.parse(job.completed_at) - Date.parse(job.started_at)) / 1000
      : null;
  const chip =
    { Succeeded: "successful", Failed: "failed", Running: "running" }[job.state] || "pending";
  return h(
    "tr",
    { dataset: { name: job.name } },
    h("td", { class: "name-cell" }, job.name),
    h(
      "td",
      {},
      h(
        "span",
        { class: `chip ${chip}`, title: job.message || "" },
        job.reason ? `${job.state} · ${job.reason}` : job.state,
      ),
    ),
    h(
      "td",
      {},
      job.builder
        ? h(
            "a",
            { href: `${config.urls.project}imagebuilders/${job.builder}/` },
            job.run ? `${job.builder} #${job.run}` : job.builder,
          )
        : "—",
    ),
    h("td", {}, formatTime(job.started_at || job.created_at)),
    h("td", {}, formatDuration(seconds)),
  );
}

async function loadJobs() {
  try {
    const data = await api.get(`${config.api.project}/jobs/`);
    const empty = data.kubernetes_jobs
      ? gettext("No build Job in this project's namespace.")
      : gettext(
          "Builds run on the console's workers, so this project has no Kubernetes Jobs from " +
            "builds. Jobs created by other tools are not listed here.",
        );
    const rows = data.results.map(jobRow);
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5, class: "empty" }, empty)));
    box.replaceChildren(
      h(
        "table",
        { class: "data", "data-testid": "jobs" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              gettext("Name"),
              gettext("Status"),
              gettext("Build run"),
              gettext("Started"),
              gettext("Duration"),
            ].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  } catch (err) {
    box.replaceChildren(h("p", { class: "form-error" }, err.message));
  }
}

load();
