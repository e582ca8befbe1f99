// Project overview: counts and the most recent builds.
import { list } from "../api.js";
import { formatTime, h, pageConfig, statusChip } from "../ui.js";

const config = pageConfig();
const count = async (path, id) => {
  try {
    document.getElementById(id).textContent = (
      await list(`${config.api.project}/${path}/`, { limit: 1 })
    ).count;
  } catch {
    document.getElementById(id).textContent = "—";
  }
};
count("imagebuilders", "stat-builders");
count("services", "stat-services");
count("registrysecrets", "stat-secrets");

(async () => {
  const box = document.getElementById("recent-builds");
  try {
    const { results } = await list(`${config.api.project}/imagebuilders/`, {
      limit: 5,
      ordering: "recent",
    });
    if (!results.length) {
      box.replaceChildren(h("p", { class: "empty" }, gettext("No image builder yet.")));
      return;
    }
    box.replaceChildren(
      h(
        "table",
        { class: "data" },
        h(
          "tbody",
          {},
          results.map((b) =>
            h(
              "tr",
              {},
              h(
                "td",
                { class: "name-cell" },
                h("a", { href: `${config.urls.project}imagebuilders/${b.name}/` }, b.name),
              ),
              h("td", {}, statusChip(b.status)),
              h("td", {}, b.latest_run ? `#${b.latest_run.number}` : "—"),
              // The time the list is ordered by: when the latest build started.
              h("td", {}, formatTime(b.latest_run?.created_at || b.created_at)),
            ),
          ),
        ),
      ),
    );
  } catch {
    box.replaceChildren(h("p", { class: "empty" }, gettext("Builds are not available.")));
  }
})();
