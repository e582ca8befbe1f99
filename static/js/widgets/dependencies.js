// A run's Dependencies (issue 17): its SBOM's components grouped by source (application,
// libraries, OS packages) with search and licences, downloads of the SBOM and provenance, and
// "changed since run N" (added, removed, upgraded) against any other run of the builder with
// an SBOM. RunTabs puts it beside the live log in a run's expanded row.
import { api, list } from "../api.js";
import { h, reportError } from "../ui.js";

const GROUP_SIZE = 200; // components shown per source before "Show more"
const SOURCES = () => [
  { source: "application", title: gettext("Application") },
  { source: "library", title: gettext("Libraries") },
  { source: "os", title: gettext("OS packages") },
];

// The run list's one line: "+1 −0 ↑3" (added, removed, upgraded), "" without a comparison.
export function changeSummary(supplyChain) {
  if (!supplyChain || supplyChain.compared_with == null) return "";
  const { added, removed, upgraded } = supplyChain;
  return `+${added} \u2212${removed} \u2191${upgraded}`;
}

export function changeSummaryTitle(supplyChain) {
  return interpolate(
    gettext("Since run #%(run)s: %(added)s added, %(removed)s removed, %(upgraded)s upgraded"),
    { run: supplyChain.compared_with, ...supplyChain },
    true,
  );
}

function componentLabel(c) {
  return c.group ? `${c.group}:${c.name}` : c.name;
}

function licences(c) {
  return c.licenses.length
    ? c.licenses.join(", ")
    : h("span", { class: "muted" }, gettext("Unknown"));
}

class ComponentGroup {
  constructor(runUrl, { source, title }) {
    Object.assign(this, { runUrl, source, title, offset: 0 });
    this.count = h("span", { class: "muted" });
    this.body = h("tbody");
    this.table = null;
    this.more = h(
      "button",
      { type: "button", class: "small", hidden: true, onclick: () => this.load(true) },
      gettext("Show more"),
    );
    this.element = h(
      "section",
      { class: "dep-group", dataset: { source } },
      h("h3", {}, title, " ", this.count),
      (this.table = h(
        "table",
        { class: "data compact", "data-testid": `components-${source}` },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [gettext("Name"), gettext("Version"), gettext("Licences"), "purl"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        this.body,
      )),
      this.more,
    );
  }

  async load(more = false) {
    this.offset = more ? this.offset + GROUP_SIZE : 0;
    const params = { source: this.source, q: this.query, limit: GROUP_SIZE, offset: this.offset };
    const page = await list(`${this.runUrl}components/`, params);
    const rows = page.results.map((c) =>
      h(
        "tr",
        { dataset: { purl: c.purl } },
        h("td", {}, componentLabel(c)),
        h("td", {}, h("code", {}, c.version || "—")),
        h("td", {}, licences(c)),
        h("td", {}, h("code", { class: "small" }, c.purl || "—")),
      ),
    );
    if (more) this.body.append(...rows);
    else this.body.replaceChildren(...rows);
    this.count.textContent = `(${page.count})`;
    this.more.hidden = this.offset + GROUP_SIZE >= page.count;
    this.table.hidden = page.count === 0;
    this.element.hidden = page.count === 0 && !this.query;
  }
}

function changeLine(kind, text) {
  const marks = { added: "+", removed: "\u2212", up: "\u2191", down: "\u2193" };
  return h(
    "li",
    { class: `dep-change ${kind}`, dataset: { change: kind } },
    marks[kind],
    " ",
    text,
  );
}

function changeList(changes) {
  const items = [
    ...changes.upgraded.map((u) =>
      changeLine(
        u.direction,
        `${componentLabel(u.after)} ${u.before.version} \u2192 ${u.after.version}`,
      ),
    ),
    ...changes.added.map((c) => changeLine("added", `${componentLabel(c)} ${c.version}`)),
    ...changes.removed.map((c) => changeLine("removed", `${componentLabel(c)} ${c.version}`)),
  ];
  if (!items.length) return h("p", { class: "muted" }, gettext("No dependency changed."));
  return h("ul", { class: "dep-changes", "data-testid": "dependency-changes" }, items);
}

export class DependenciesPanel {
  // base: the builder's API URL; run: the run as the runs API gives it
  constructor({ base, run }) {
    this.base = base;
    this.run = run;
    this.runUrl = `${base}runs/${run.number}/`;
    this.groups = SOURCES().map((group) => new ComponentGroup(this.runUrl, group));
    this.search = h("input", {
      type: "search",
      placeholder: gettext("Search dependencies"),
      "aria-label": gettext("Search dependencies"),
    });
    let timer = null;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.loadComponents(), 250);
    });
    this.against = h("select", { "aria-label": gettext("Compare with run") });
    this.against.addEventListener("change", () => this.loadChanges());
    this.changes = h("div", { "aria-live": "polite" });
    this.element = h(
      "div",
      { class: "dependencies", "data-testid": "dependencies" },
      h(
        "div",
        { class: "toolbar" },
        this.search,
        h("span", { class: "grow" }),
        this.download("sbom/", gettext("Download SBOM"), "sbom-download"),
        this.download("provenance/", gettext("Download provenance"), "provenance-download"),
      ),
      h(
        "section",
        { class: "dep-diff" },
        h("h3", {}, h("label", {}, gettext("Changed since run"), " ", this.against)),
        this.changes,
      ),
      this.groups.map((g) => g.element),
    );
    this.started = false;
  }

  download(path, label, testid) {
    const name = `${this.run.builder}-${this.run.number}`;
    const suffix = path === "sbom/" ? ".cdx.json" : ".intoto.json";
    return h(
      "a",
      {
        class: "button small",
        href: `${this.runUrl}${path}`,
        download: `${name}${suffix}`,
        "data-testid": testid,
      },
      label,
    );
  }

  start() {
    if (this.started) return;
    this.started = true;
    this.loadComponents();
    this.loadRuns().then(() => this.loadChanges());
  }

  async loadComponents() {
    try {
      for (const group of this.groups) group.query = this.search.value.trim();
      await Promise.all(this.groups.map((g) => g.load()));
    } catch (err) {
      reportError(err);
    }
  }

  async loadRuns() {
    try {
      const runs = (await list(`${this.base}runs/`, { state: "successful", limit: 200 })).results;
      const others = runs.filter((r) => r.supply_chain && r.number !== this.run.number);
      const chosen = this.run.supply_chain.compared_with;
      // No earlier run with an SBOM: nothing is compared until the user picks a run.
      const none = chosen == null ? [h("option", { value: "", selected: true }, "—")] : [];
      this.against.replaceChildren(
        ...none,
        ...others.map((r) =>
          h(
            "option",
            { value: r.number, selected: r.number === chosen },
            `#${r.number} · ${r.tag}`,
          ),
        ),
      );
      this.against.disabled = !others.length;
    } catch (err) {
      reportError(err);
    }
  }

  async loadChanges() {
    if (!this.against.value) {
      const text = this.against.disabled
        ? gettext("No other run of this builder has an SBOM yet.")
        : gettext("No earlier run has an SBOM: choose a run to compare with.");
      this.changes.replaceChildren(
        h("p", { class: "muted", "data-testid": "no-comparison" }, text),
      );
      return;
    }
    try {
      const url = `${this.runUrl}changes/?against=${encodeURIComponent(this.against.value)}`;
      const changes = await api.get(url);
      this.changes.replaceChildren(
        h("p", { class: "dep-summary", "data-testid": "dependency-summary" }, changes.summary),
        changeList(changes),
      );
    } catch (err) {
      reportError(err);
    }
  }
}

// Log | Dependencies tabs of one run; the Dependencies tab appears once the run has an SBOM.
export class RunTabs {
  constructor({ base, run, logViewer }) {
    this.base = base;
    this.logViewer = logViewer;
    this.dependencies = null;
    this.tabList = h("div", { class: "run-tabs", role: "tablist" });
    this.logTab = this.tab(gettext("Log"), "log");
    this.depTab = this.tab(gettext("Dependencies"), "dependencies");
    this.logPanel = h("div", { role: "tabpanel" }, logViewer.element);
    this.depPanel = h("div", { role: "tabpanel", hidden: true });
    this.tabList.append(this.logTab, this.depTab);
    this.element = h("div", { class: "run-panel" }, this.tabList, this.logPanel, this.depPanel);
    this.update(run);
  }

  tab(label, name) {
    return h(
      "button",
      {
        type: "button",
        role: "tab",
        "aria-selected": String(name === "log"),
        dataset: { tab: name },
        onclick: () => this.select(name),
      },
      label,
    );
  }

  update(run) {
    this.run = run;
    this.depTab.hidden = !run.supply_chain;
  }

  select(name) {
    if (name === "dependencies" && !this.run.supply_chain) return;
    const deps = name === "dependencies";
    this.logTab.setAttribute("aria-selected", String(!deps));
    this.depTab.setAttribute("aria-selected", String(deps));
    this.logPanel.hidden = deps;
    this.depPanel.hidden = !deps;
    if (deps && !this.dependencies) {
      this.dependencies = new DependenciesPanel({ base: this.base, run: this.run });
      this.depPanel.append(this.dependencies.element);
    }
    if (deps) this.dependencies.start();
  }
}
