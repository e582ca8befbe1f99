// Deployments / StatefulSets / Jobs of the project. The console manages workloads through
// services, so these lists come from the services' live status (one workload per service).
import { api, list } from "../api.js";
import { h, pageConfig } from "../ui.js";

const config = pageConfig();
const box = document.getElementById("workloads-table");
const wanted = { deployments: "stateless", statefulsets: "stateful" }[config.workload_kind];

async function row(service) {
  let status = null;
  try { status = await api.get(`${config.api.project}/services/${service.name}/status/`); } catch (err) { status = { error: err.message }; }
  const pods = status.pods || [];
  return h("tr", { dataset: { name: service.name } },
    h("td", { class: "name-cell" }, h("a", { href: `${config.urls.project}services/${service.name}/` }, status.name || `${service.name}-${service.spec?.version || "v1"}`)),
    h("td", {}, status.error ? h("span", { class: "chip failed" }, status.error) : h("span", { class: `chip ${status.ready >= status.desired && status.desired > 0 ? "successful" : "running"}` }, `${status.ready ?? 0}/${status.desired ?? 0}`)),
    h("td", {}, pods.map((p) => h("div", { class: "small" }, `${p.name} · ${p.phase}`))),
    h("td", {}, status.image ? h("code", { class: "small" }, status.image) : "—"),
    h("td", {}, service.name));
}

async function load() {
  if (!wanted) {
    box.replaceChildren(h("p", { class: "empty" }, gettext("Builds run on the console's workers, so this project has no Kubernetes Jobs from builds. Jobs created by other tools are not listed here.")));
    return;
  }
  try {
    const services = (await list(`${config.api.project}/services/`)).results.filter((s) => (s.spec?.kind || "stateless") === wanted);
    const rows = await Promise.all(services.map(row));
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 5, class: "empty" }, gettext("No workload of this kind."))));
    box.replaceChildren(h("table", { class: "data", "data-testid": "workloads" },
      h("thead", {}, h("tr", {}, [gettext("Name"), gettext("Ready"), gettext("Pods"), gettext("Image"), gettext("Service")].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
  } catch (err) {
    box.replaceChildren(h("p", { class: "form-error" }, err.message));
  }
}
load();
