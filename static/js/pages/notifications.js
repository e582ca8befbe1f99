// Notifications of a project: my own e-mail subscription (every member), the project's webhook
// channels (admins add, edit, test and delete them), and each one's delivery log.
import { api } from "../api.js";
import {
  confirmByName,
  field,
  formatTime,
  formValues,
  h,
  openDialog,
  pageConfig,
  reportError,
  statusChip,
  toast,
} from "../ui.js";
import { localizeMessage } from "../messages.js";
import { DataTable } from "../widgets/table.js";

const config = pageConfig();
const base = `${config.api.project}/notifications/`;
const canManage = Boolean(config.can.manage);

const BUILD_EVENTS = () => [
  ["none", gettext("No builds")],
  ["failed", gettext("Failed builds")],
  ["failed_recovered", gettext("Failed and recovered builds")],
  ["all", gettext("Every finished build")],
];
const KINDS = () => [
  ["slack", gettext("Slack-compatible")],
  ["dingtalk", gettext("DingTalk")],
  ["wecom", gettext("WeCom")],
  ["webhook", gettext("Generic JSON (HMAC-SHA256 signed)")],
];
const label = (pairs, value) => (pairs.find(([key]) => key === value) || [value, value])[1];

// A delivery's state as a chip: delivered (green), failed (red), pending (retrying).
function deliveryChip(state) {
  const looks = { delivered: "successful", failed: "failed", pending: "pending" };
  const labels = {
    delivered: gettext("Delivered"),
    failed: gettext("Failed"),
    pending: gettext("Retrying"),
  };
  const chip = statusChip(looks[state] || state);
  chip.textContent = labels[state] || state;
  return chip;
}

function resultText(delivery) {
  if (delivery.state === "delivered") return gettext("Test notification delivered.");
  // The receiver's or SMTP server's own answer: shown as it came.
  return `${gettext("Test notification failed")}: ${delivery.error}`;
}

function deliveriesTable(container, url) {
  const table = new DataTable({
    container,
    url,
    testid: "deliveries",
    pageSize: 10,
    empty: gettext("Nothing sent yet."),
    columns: [
      { label: gettext("Time"), render: (d) => formatTime(d.created_at) },
      { label: gettext("Event"), render: (d) => d.headline },
      { label: gettext("Status"), render: (d) => deliveryChip(d.state) },
      { label: gettext("Attempts"), render: (d) => String(d.attempts) },
      {
        label: gettext("Answer"),
        render: (d) => [d.status_code ? `HTTP ${d.status_code} ` : "", d.error || ""],
      },
    ],
  });
  table.load();
  return table;
}

// --- my e-mail subscription -----------------------------------------------------------------

function eventChoices(current) {
  const select = h(
    "select",
    { name: "build_events" },
    BUILD_EVENTS().map(([value, text]) =>
      h("option", { value, selected: value === current.build_events }, text),
    ),
  );
  const rollouts = h("input", {
    type: "checkbox",
    name: "rollout_events",
    checked: Boolean(current.rollout_events),
  });
  return [
    field(gettext("Builds"), select),
    h("label", { class: "field inline" }, rollouts, gettext("Rollouts of services")),
  ];
}

async function showSubscription() {
  const box = document.getElementById("my-subscription");
  const mine = await api.get(`${base}subscription/`);
  const result = h("p", {
    class: "small",
    "data-testid": "mail-test-result",
    "aria-live": "polite",
  });
  const form = h(
    "form",
    { "data-testid": "subscription-form" },
    h("p", {}, gettext("Sent to"), ": ", h("code", {}, mine.email || gettext("no address"))),
    ...eventChoices(mine.subscribed ? mine : { build_events: "none" }),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", class: "primary" }, gettext("Save")),
      h(
        "button",
        { type: "button", "data-testid": "mail-test", onclick: () => sendMailTest(result) },
        gettext("Send test e-mail"),
      ),
    ),
    result,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const values = formValues(form);
      if (values.build_events === "none" && !values.rollout_events) {
        await api.delete(`${base}subscription/`);
      } else await api.put(`${base}subscription/`, values);
      toast(gettext("Saved"), "success");
    } catch (err) {
      reportError(err);
    }
  });
  box.replaceChildren(form);
}

async function sendMailTest(result) {
  result.textContent = gettext("Sending…");
  try {
    const delivery = await api.post(`${base}subscription/test/`);
    result.textContent = resultText(delivery);
    myDeliveries.load();
  } catch (err) {
    result.textContent = localizeMessage(err.code, err.message);
  }
}

// --- channels ---------------------------------------------------------------------------------

function channelForm(channel) {
  const editing = Boolean(channel);
  const current = channel || { build_events: "failed", rollout_events: false, enabled: true };
  const kind = h(
    "select",
    { name: "kind", disabled: editing },
    KINDS().map(([value, text]) => h("option", { value, selected: value === current.kind }, text)),
  );
  return h(
    "div",
    {},
    field(
      gettext("Name"),
      h("input", { name: "name", maxlength: 63, value: current.name || "", disabled: editing }),
      { required: !editing, hint: gettext("Lowercase letters, digits and '-'.") },
    ),
    field(gettext("Type"), kind),
    field(
      gettext("Webhook URL"),
      h("input", { name: "url", type: "password", autocomplete: "off", maxlength: 2048 }),
      {
        required: !editing,
        hint: editing
          ? gettext("Leave empty to keep the stored URL; it is never shown again.")
          : gettext("Stored encrypted; it is never shown again."),
      },
    ),
    field(
      gettext("Signing secret"),
      h("input", { name: "secret", type: "password", autocomplete: "new-password" }),
      {
        hint: gettext(
          "DingTalk's signing secret or a generic webhook's HMAC key. Empty keeps the stored one.",
        ),
      },
    ),
    ...eventChoices(current),
    h(
      "label",
      { class: "field inline" },
      h("input", { type: "checkbox", name: "enabled", checked: current.enabled }),
      gettext("Enabled"),
    ),
  );
}

function channelBody(form, editing) {
  const values = formValues(form);
  if (editing) {
    delete values.name;
    delete values.kind;
    if (!values.url) delete values.url;
    if (!values.secret) delete values.secret;
  }
  return values;
}

function editChannel(channel) {
  const editing = Boolean(channel);
  openDialog({
    title: editing ? gettext("Edit channel") : gettext("Add channel"),
    body: channelForm(channel),
    submitLabel: editing ? gettext("Save") : gettext("Add"),
    onSubmit: async (form) => {
      const body = channelBody(form, editing);
      if (editing) await api.patch(`${base}channels/${channel.name}/`, body);
      else await api.post(`${base}channels/`, body);
      toast(gettext("Saved"), "success");
      channels.load();
    },
  });
}

async function testChannel(channel, button) {
  button.disabled = true;
  try {
    const delivery = await api.post(`${base}channels/${channel.name}/test/`);
    toast(resultText(delivery), delivery.state === "delivered" ? "success" : "error");
  } catch (err) {
    reportError(err);
  } finally {
    button.disabled = false;
  }
}

function showDeliveries(channel) {
  const container = h("div");
  openDialog({ title: `${gettext("Delivery log")}: ${channel.name}`, body: container, wide: true });
  deliveriesTable(container, `${base}channels/${channel.name}/deliveries/`);
}

function removeChannel(channel) {
  confirmByName({
    title: gettext("Delete channel"),
    name: channel.name,
    message: gettext("Its delivery log is deleted with it."),
    onConfirm: async () => {
      await api.delete(`${base}channels/${channel.name}/`);
      toast(gettext("Channel deleted"), "success");
      channels.load();
    },
  });
}

function actionButton(text, onclick) {
  return h("button", { type: "button", class: "small", onclick }, text);
}

const channels = new DataTable({
  container: document.getElementById("channels-table"),
  url: `${base}channels/`,
  testid: "channels",
  pageSize: 20,
  empty: gettext("No webhook channel yet."),
  columns: [
    { label: gettext("Name"), className: "name-cell", render: (c) => h("strong", {}, c.name) },
    { label: gettext("Type"), render: (c) => label(KINDS(), c.kind) },
    { label: gettext("Host"), render: (c) => h("code", {}, c.url_host) },
    {
      label: gettext("Events"),
      render: (c) =>
        [label(BUILD_EVENTS(), c.build_events), c.rollout_events ? gettext("Rollouts") : null]
          .filter(Boolean)
          .join(" · "),
    },
    { label: gettext("Enabled"), render: (c) => (c.enabled ? gettext("Yes") : gettext("No")) },
    {
      label: "",
      className: "actions",
      render: (c) => [
        canManage
          ? actionButton(gettext("Send test"), (e) => testChannel(c, e.currentTarget))
          : null,
        actionButton(gettext("Delivery log"), () => showDeliveries(c)),
        canManage ? actionButton(gettext("Edit"), () => editChannel(c)) : null,
        canManage ? actionButton(gettext("Delete"), () => removeChannel(c)) : null,
      ],
    },
  ],
});
channels.load();

const myDeliveries = deliveriesTable(
  document.getElementById("my-deliveries"),
  `${base}subscription/deliveries/`,
);
document.getElementById("add-channel")?.addEventListener("click", () => editChannel(null));
showSubscription().catch(reportError);
