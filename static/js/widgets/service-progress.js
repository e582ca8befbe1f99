// After "Create": upload → build → push → rollout → reachable, with the live build log and
// the access URL. Build state comes from the run's socket; rollout from the service status.
import { api } from "../api.js";
import { h, statusChip } from "../ui.js";
import { LogViewer } from "./log-viewer.js";

const STAGES = () => [
  ["upload", gettext("Upload")],
  ["build", gettext("Build")],
  ["push", gettext("Push")],
  ["rollout", gettext("Rollout")],
  ["reachable", gettext("Reachable")],
];

export function showProgress({ config, root, builder, service, artifact }) {
  const items = Object.fromEntries(
    STAGES().map(([key, label]) => [key, h("li", { dataset: { stage: key } }, label)]),
  );
  const mark = (key, state) => {
    items[key].className = state;
    items[key].dataset.state = state;
  };
  const runChip = h("span", { "data-testid": "run-status" }, statusChip("pending"));
  const access = h("div", { "data-testid": "access-urls", "aria-live": "polite" });
  const rollout = h("p", { class: "muted", "data-testid": "rollout-status" });
  const runNumber = builder.run?.number || 1;
  const builderPath = `${config.api.project}/imagebuilders/${builder.name}/`;
  const projectSocket = `/ws/workspaces/${config.workspace}/projects/${config.project}`;
  const viewer = new LogViewer({
    paths: {
      socket: `${projectSocket}/imagebuilders/${builder.name}/runs/${runNumber}/log/`,
      text: `${builderPath}runs/${runNumber}/log.txt`,
    },
    onState: (state) => onRunState(state),
  });
  root.replaceChildren(
    h("h2", {}, gettext("Creating service %s").replace("%s", service.name)),
    h("ol", { class: "steps-progress", "data-testid": "progress" }, Object.values(items)),
    h(
      "p",
      {},
      gettext("Build"),
      ` #${runNumber}: `,
      runChip,
      " · ",
      h(
        "a",
        { href: `${config.urls.project}imagebuilders/${builder.name}/` },
        gettext("Image builder"),
      ),
      " · ",
      h(
        "a",
        { href: `${config.urls.project}services/${service.name}/` },
        gettext("Service details"),
      ),
    ),
    viewer.element,
    rollout,
    access,
    createdObjects(config, service),
  );
  mark("upload", artifact ? "done" : "active");
  mark("build", "active");
  viewer.start();
  // The push step shows in the log; mark it as soon as the log reaches it.
  const observer = new MutationObserver(() => {
    if (/==> push/.test(viewer.body.textContent) && items.push.dataset.state !== "done") {
      mark("build", "done");
      mark("push", "active");
    }
  });
  observer.observe(viewer.body, { childList: true, subtree: true });

  let polling = null;
  function onRunState(state) {
    runChip.replaceChildren(statusChip(state.state));
    if (state.state === "successful") {
      observer.disconnect();
      mark("build", "done");
      mark("push", "done");
      mark("rollout", "active");
      if (!polling) polling = pollRollout();
    } else if (["failed", "cancelled"].includes(state.state)) {
      observer.disconnect();
      mark(items.push.dataset.state === "active" ? "push" : "build", "failed");
    }
  }

  async function pollRollout() {
    const url = `${config.api.project}/services/${service.name}/status/`;
    for (let attempt = 0; attempt < 120; attempt += 1) {
      try {
        const status = await api.get(url);
        rollout.textContent = `${gettext("Ready replicas")}: ${status.ready}/${status.desired}`;
        if (status.desired > 0 && status.ready >= status.desired) {
          mark("rollout", "done");
          showAccess(status.access_urls || []);
          return;
        }
      } catch (err) {
        rollout.textContent = err.message;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    mark("rollout", "failed");
  }

  function showAccess(urls) {
    mark("reachable", urls.length ? "done" : "active");
    access.replaceChildren(
      urls.length
        ? h(
            "p",
            {},
            gettext("Access URL"),
            ": ",
            ...urls.map((u) => h("a", { href: u, target: "_blank", rel: "noopener" }, u)),
          )
        : h(
            "p",
            { class: "muted" },
            gettext("The service has no external access (ClusterIP); reach it inside the cluster."),
          ),
    );
  }
}

// The objects as created in the cluster (the review could only show the specification when
// the preview API needed an existing builder); loaded when the user opens it.
function createdObjects(config, service) {
  const pre = h("pre", { class: "yaml", "data-testid": "created-yaml" });
  const details = h("details", {}, h("summary", {}, gettext("YAML of the created objects")), pre);
  details.addEventListener("toggle", async () => {
    if (!details.open || pre.textContent) return;
    try {
      pre.textContent = (
        await api.get(`${config.api.project}/services/${service.name}/export/`)
      ).yaml;
    } catch (err) {
      pre.textContent = err.message;
    }
  });
  return details;
}
