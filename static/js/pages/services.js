// Services list: name, builder, state, deployed run and image, created; rows link to details.
import { list } from "../api.js";
import { formatTime, h, pageConfig, reportError, serviceStateChip } from "../ui.js";

const config = pageConfig();
const box = document.getElementById("services-table");

async function load() {
  try {
    const { results } = await list(`${config.api.project}/services/`);
    const rows = results.map((s) =>
      h(
        "tr",
        { dataset: { name: s.name } },
        h(
          "td",
          { class: "name-cell" },
          h("a", { href: `${config.urls.project}services/${s.name}/` }, s.name),
          h("span", { class: "alias" }, s.spec?.alias || ""),
        ),
        h("td", {}, serviceStateChip(s.state)),
        h("td", {}, s.spec?.kind === "stateful" ? gettext("Stateful") : gettext("Stateless")),
        h(
          "td",
          {},
          s.builder
            ? h("a", { href: `${config.urls.project}imagebuilders/${s.builder}/` }, s.builder)
            : "—",
        ),
        h("td", {}, s.deployed_run ? `#${s.deployed_run}` : gettext("Not deployed yet")),
        h("td", {}, s.deployed_image ? h("code", { class: "small" }, s.deployed_image) : "—"),
        h("td", {}, formatTime(s.created_at)),
      ),
    );
    if (!rows.length)
      rows.push(
        h(
          "tr",
          {},
          h(
            "td",
            { colspan: 7, class: "empty" },
            gettext("No service yet. Create one from an artifact."),
          ),
        ),
      );
    box.replaceChildren(
      h(
        "table",
        { class: "data", "data-testid": "services" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            [
              gettext("Name"),
              gettext("Status"),
              gettext("Type"),
              gettext("Image builder"),
              gettext("Deployed run"),
              gettext("Image"),
              gettext("Created"),
            ].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  } catch (err) {
    reportError(err);
  }
}
load();
