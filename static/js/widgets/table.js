// A data table with search, an optional filter and limit/offset pagination over a list API.
import { list } from "../api.js";
import { h, reportError } from "../ui.js";

// columns: [{ label, render(row) -> Node|string, className }]
export class DataTable {
  constructor({
    container,
    url,
    columns,
    empty,
    pageSize = 10,
    params = () => ({}),
    testid = "table",
    clientFilter = null,
  }) {
    Object.assign(this, { container, url, columns, empty, pageSize, params, clientFilter });
    this.offset = 0;
    this.count = 0;
    this.rows = [];
    this.tbody = h("tbody");
    this.status = h("span", { class: "muted small", "aria-live": "polite" });
    this.prev = h(
      "button",
      { type: "button", class: "small", onclick: () => this.page(-1) },
      gettext("Previous page"),
    );
    this.next = h(
      "button",
      { type: "button", class: "small", onclick: () => this.page(1) },
      gettext("Next page"),
    );
    const table = h(
      "table",
      { class: "data", "data-testid": testid },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          columns.map((c) => h("th", { scope: "col", class: c.className || "" }, c.label)),
        ),
      ),
      this.tbody,
    );
    container.replaceChildren(
      table,
      h("div", { class: "pager" }, this.status, this.prev, this.next),
    );
  }

  page(direction) {
    this.offset = Math.max(0, this.offset + direction * this.pageSize);
    this.load();
  }

  async load({ quiet = false } = {}) {
    try {
      const data = await list(this.url, {
        limit: this.pageSize,
        offset: this.offset,
        ...this.params(),
      });
      this.count = data.count;
      this.rows = this.clientFilter ? data.results.filter(this.clientFilter) : data.results;
      this.render();
    } catch (err) {
      if (!quiet) reportError(err);
    }
    return this.rows;
  }

  render() {
    const rows = this.rows.map((row) =>
      h(
        "tr",
        { dataset: { name: row.name ?? row.username ?? "" } },
        this.columns.map((c) => h("td", { class: c.className || "" }, c.render(row))),
      ),
    );
    if (!rows.length)
      rows.push(h("tr", {}, h("td", { colspan: this.columns.length, class: "empty" }, this.empty)));
    this.tbody.replaceChildren(...rows);
    const last = Math.min(this.offset + this.pageSize, this.count);
    this.status.textContent = this.count ? `${this.offset + 1}–${last} / ${this.count}` : "";
    this.prev.disabled = this.offset === 0;
    this.next.disabled = last >= this.count;
  }
}
