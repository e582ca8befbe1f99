// Steps 3–5 of the service wizard: Pod Settings, Storage Settings, Advanced Settings.
// Each returns {title, element, validate(), values()} with the field rules of the wizard.
import { field, h, setFieldError } from "../ui.js";

const PROTOCOLS = ["HTTP", "HTTP2", "HTTPS", "GRPC", "TCP", "TLS", "UDP", "MONGO", "REDIS"];
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PORT_NAME_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ENV_RE = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const QUANTITY_RE = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const VOLUME_KINDS = ["emptyDir", "pvc", "configMap", "secret", "claimTemplate"];

function validPort(value) {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

function check(list) {
  let ok = true;
  for (const [control, valid, message] of list) {
    setFieldError(control, valid ? "" : message);
    ok = ok && valid;
  }
  return ok;
}

// A list of editable rows with Add/Remove buttons; makeRow returns {element, controls, value}.
function rowList({ label, makeRow, addLabel, testid, initial = [] }) {
  const box = h("div", { "data-testid": testid });
  const rows = [];
  const add = (data) => {
    const row = makeRow(data, rows.length);
    const remove = h(
      "button",
      {
        type: "button",
        class: "small",
        "aria-label": `${gettext("Remove")} ${label} ${rows.length + 1}`,
      },
      "✕",
    );
    row.element.append(remove);
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      row.element.remove();
    });
    rows.push(row);
    box.append(row.element);
    return row;
  };
  initial.forEach((data) => add(data));
  const addButton = h(
    "button",
    { type: "button", class: "small", onclick: () => add({}).controls[0].focus() },
    addLabel,
  );
  return { element: h("fieldset", {}, h("legend", {}, label), box, addButton), rows, add };
}

let idCounter = 0;
const nextId = (prefix) => `${prefix}-${++idCounter}`;

// A control with its own error slot, for the rows of a list (ports, volumes).
function cell(control, style = "margin:0") {
  control.id = control.id || nextId("c");
  return h(
    "div",
    { class: "field", style },
    control,
    h("span", { class: "field-error", id: `${control.id}-error` }),
  );
}

// One port row: protocol, name (`<protocol>-<n>` until edited), container and service port
// (the service port follows the container port until edited).
function portRow(data, index) {
  const protocol = h(
    "select",
    { "aria-label": gettext("Protocol") },
    PROTOCOLS.map((p) => h("option", { value: p, selected: p === (data.protocol || "HTTP") }, p)),
  );
  const name = h("input", {
    "aria-label": gettext("Port name"),
    value: data.name || `${(data.protocol || "http").toLowerCase()}-${index}`,
    maxlength: 15,
  });
  const containerPort = h("input", {
    "aria-label": gettext("Container port"),
    type: "number",
    min: 1,
    max: 65535,
    value: data.container_port || "",
  });
  const servicePort = h("input", {
    "aria-label": gettext("Service port"),
    type: "number",
    min: 1,
    max: 65535,
    value: data.service_port || "",
  });
  protocol.addEventListener("change", () => {
    if (!name.dataset.touched) name.value = `${protocol.value.toLowerCase()}-${index}`;
  });
  name.addEventListener("input", () => {
    name.dataset.touched = "1";
  });
  containerPort.addEventListener("input", () => {
    if (!servicePort.dataset.touched) servicePort.value = containerPort.value;
  });
  servicePort.addEventListener("input", () => {
    servicePort.dataset.touched = "1";
  });
  return {
    element: h(
      "div",
      { class: "port-row" },
      cell(protocol),
      cell(name),
      cell(containerPort),
      cell(servicePort),
    ),
    controls: [protocol, name, containerPort, servicePort],
    value: () => ({
      protocol: protocol.value,
      name: name.value,
      container_port: Number(containerPort.value),
      service_port: Number(servicePort.value || containerPort.value),
    }),
  };
}

function envRow(data) {
  const name = h("input", {
    id: nextId("env"),
    "aria-label": gettext("Variable name"),
    value: data.name || "",
  });
  const value = h("input", { "aria-label": gettext("Value"), value: data.value || "" });
  return {
    element: h("div", { class: "row", style: "margin-bottom:6px" }, name, value),
    controls: [name, value],
    value: () => ({ name: name.value, value: value.value }),
  };
}

function portChecks(rows) {
  const names = new Set();
  const list = [];
  for (const row of rows) {
    const [, name, containerPort, servicePort] = row.controls;
    list.push([
      name,
      PORT_NAME_RE.test(name.value) && name.value.length <= 15 && !names.has(name.value),
      gettext("A unique name: lowercase letters, digits and '-', at most 15."),
    ]);
    names.add(name.value);
    list.push([containerPort, validPort(containerPort.value), gettext("1–65535")]);
    list.push([
      servicePort,
      !servicePort.value || validPort(servicePort.value),
      gettext("1–65535"),
    ]);
  }
  return list;
}

function podFields() {
  const resources = Object.fromEntries(
    ["requests_cpu", "requests_memory", "limits_cpu", "limits_memory"].map((k) => [
      k,
      h("input", { name: k, placeholder: k.endsWith("cpu") ? "250m" : "512Mi" }),
    ]),
  );
  return {
    replicas: h("input", { name: "replicas", type: "number", min: 1, max: 1000, value: 1 }),
    container: h("input", {
      name: "container_name",
      value: `container-${Math.random().toString(36).slice(2, 8)}`,
    }),
    pullPolicy: h(
      "select",
      { name: "image_pull_policy" },
      ["IfNotPresent", "Always", "Never"].map((p) => h("option", { value: p }, p)),
    ),
    ports: rowList({
      label: gettext("Ports"),
      addLabel: gettext("Add Port"),
      testid: "ports",
      makeRow: portRow,
    }),
    env: rowList({
      label: gettext("Environment variables"),
      addLabel: gettext("Add Variable"),
      testid: "env",
      makeRow: envRow,
    }),
    resources,
    readiness: h("input", { type: "checkbox", name: "readiness_enabled", checked: true }),
    liveness: h("input", { type: "checkbox", name: "liveness_enabled" }),
    probePath: h("input", { name: "probe_path", value: "/" }),
  };
}

function podLayout(f) {
  const r = f.resources;
  return h(
    "div",
    {},
    h("h2", {}, gettext("Pod Settings")),
    h(
      "div",
      { class: "row" },
      field(gettext("Replicas"), f.replicas, { required: true }),
      field(gettext("Container name"), f.container, {
        required: true,
        hint: gettext("The image comes from the build."),
      }),
      field(gettext("Image pull policy"), f.pullPolicy),
    ),
    h(
      "div",
      { class: "port-row small muted", "aria-hidden": "true" },
      h("span", {}, gettext("Protocol")),
      h("span", {}, gettext("Name")),
      h("span", {}, gettext("Container port")),
      h("span", {}, gettext("Service port")),
    ),
    f.ports.element,
    f.env.element,
    h(
      "fieldset",
      {},
      h("legend", {}, gettext("Resources")),
      h(
        "div",
        { class: "row" },
        field(gettext("CPU request"), r.requests_cpu),
        field(gettext("Memory request"), r.requests_memory),
        field(gettext("CPU limit"), r.limits_cpu),
        field(gettext("Memory limit"), r.limits_memory),
      ),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, gettext("Health check")),
      h("label", { class: "field inline" }, f.readiness, gettext("Readiness probe (HTTP GET)")),
      h("label", { class: "field inline" }, f.liveness, gettext("Liveness probe (HTTP GET)")),
      field(gettext("Probe path"), f.probePath),
    ),
  );
}

export function podStep({ environment }) {
  const f = podFields();
  let seeded = false;
  return {
    title: gettext("Pod Settings"),
    element: podLayout(f),
    focus: () => f.replicas.focus(),
    onEnter: () => {
      // The first port comes from the chosen environment (e.g. 8080 for Java and Tomcat).
      if (seeded) return;
      seeded = true;
      const port = environment()?.spec?.port;
      f.ports.add(port ? { protocol: "HTTP", container_port: port, service_port: port } : {});
    },
    validate: async () => {
      if (!f.ports.rows.length) {
        f.ports.add({});
        return false;
      }
      const replicas = Number(f.replicas.value);
      return check([
        [
          f.replicas,
          Number.isInteger(replicas) && replicas >= 1 && replicas <= 1000,
          gettext("Between 1 and 1000."),
        ],
        [
          f.container,
          f.container.value.length <= 63 && LABEL_RE.test(f.container.value),
          gettext("Lowercase letters, digits and '-', at most 63."),
        ],
        [f.probePath, f.probePath.value.startsWith("/"), gettext("Start the path with '/'.")],
        ...portChecks(f.ports.rows),
        ...f.env.rows.map((row) => [
          row.controls[0],
          ENV_RE.test(row.controls[0].value),
          gettext("Not a valid variable name."),
        ]),
        ...Object.values(f.resources).map((c) => [
          c,
          !c.value || QUANTITY_RE.test(c.value),
          gettext("A quantity such as 250m, 0.5, 512Mi or 1Gi."),
        ]),
      ]);
    },
    values: () => ({
      replicas: Number(f.replicas.value),
      container_name: f.container.value,
      image_pull_policy: f.pullPolicy.value,
      ports: f.ports.rows.map((r) => r.value()),
      env: f.env.rows.map((r) => r.value()),
      resources: Object.fromEntries(Object.entries(f.resources).map(([k, c]) => [k, c.value])),
      readiness: { enabled: f.readiness.checked, path: f.probePath.value },
      liveness: { enabled: f.liveness.checked, path: f.probePath.value },
    }),
  };
}

export function storageStep({ isStateful }) {
  const volumeRow = (data) => {
    const kind = h(
      "select",
      { "aria-label": gettext("Volume type") },
      VOLUME_KINDS.map((k) => h("option", { value: k, selected: k === data.kind }, k)),
    );
    const name = h("input", { "aria-label": gettext("Volume name"), placeholder: "data" });
    const mount = h("input", { "aria-label": gettext("Mount path"), placeholder: "/data" });
    const source = h("input", {
      "aria-label": gettext("Source (PVC, ConfigMap or Secret name; size for a claim template)"),
    });
    const readOnly = h("input", { type: "checkbox", "aria-label": gettext("Read-only") });
    const wrap = (c) => cell(c, "margin:0;flex:1");
    return {
      element: h(
        "div",
        { class: "row", style: "margin-bottom:6px;align-items:center" },
        wrap(kind),
        wrap(name),
        wrap(mount),
        wrap(source),
        h("label", { class: "small" }, readOnly, gettext("Read-only")),
      ),
      controls: [name, kind, mount, source],
      value: () => ({
        kind: kind.value,
        name: name.value,
        mount_path: mount.value,
        read_only: readOnly.checked,
        source: kind.value === "claimTemplate" ? "" : source.value,
        storage: kind.value === "claimTemplate" ? source.value : "",
      }),
      check: () => [
        [name, LABEL_RE.test(name.value), gettext("Lowercase letters, digits and '-'.")],
        [mount, mount.value.startsWith("/"), gettext("An absolute path.")],
        [
          source,
          kind.value === "emptyDir" ||
            (kind.value === "claimTemplate"
              ? QUANTITY_RE.test(source.value)
              : LABEL_RE.test(source.value)),
          gettext("Name the object to mount, or a size like 1Gi for a claim template."),
        ],
        [
          kind,
          kind.value !== "claimTemplate" || isStateful(),
          gettext("Volume claim templates need a stateful service."),
        ],
      ],
    };
  };
  const volumes = rowList({
    label: gettext("Volumes"),
    addLabel: gettext("Add Volume"),
    testid: "volumes",
    makeRow: volumeRow,
  });
  return {
    title: gettext("Storage Settings"),
    element: h(
      "div",
      {},
      h("h2", {}, gettext("Storage Settings")),
      h(
        "p",
        { class: "muted" },
        gettext(
          "Optional: mount an existing PVC, an emptyDir, a ConfigMap or a Secret; " +
            "stateful services can claim storage per replica.",
        ),
      ),
      volumes.element,
    ),
    validate: async () => check(volumes.rows.flatMap((r) => r.check())),
    values: () => volumes.rows.map((r) => r.value()),
  };
}

function parsePairs(text) {
  const pairs = {};
  for (const line of text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) return null;
    pairs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return pairs;
}

export function advancedStep() {
  const access = h(
    "select",
    { name: "external_access" },
    h("option", { value: "none" }, gettext("None (ClusterIP)")),
    h("option", { value: "NodePort" }, "NodePort"),
    h("option", { value: "LoadBalancer" }, "LoadBalancer"),
  );
  const affinity = h("input", { type: "checkbox", name: "session_affinity" });
  const seconds = h("input", {
    type: "number",
    name: "session_affinity_seconds",
    value: 10800,
    min: 0,
    max: 86400,
  });
  const nodeSelector = h("textarea", { name: "node_selector", placeholder: "disktype=ssd" });
  const labels = h("textarea", { name: "labels", placeholder: "team=shop" });
  const annotations = h("textarea", { name: "annotations", placeholder: "owner=alice" });
  const pairsHint = gettext("One key=value per line.");
  return {
    title: gettext("Advanced Settings"),
    element: h(
      "div",
      {},
      h("h2", {}, gettext("Advanced Settings")),
      field(gettext("External access"), access, {
        hint: gettext(
          "NodePort or LoadBalancer make the service reachable from outside the cluster.",
        ),
      }),
      h("label", { class: "field inline" }, affinity, gettext("Session affinity (ClientIP)")),
      field(gettext("Maximum session stickiness (seconds)"), seconds),
      field(gettext("Node selector"), nodeSelector, { hint: pairsHint }),
      h(
        "div",
        { class: "row" },
        field(gettext("Labels"), labels, { hint: pairsHint }),
        field(gettext("Annotations"), annotations, { hint: pairsHint }),
      ),
    ),
    focus: () => access.focus(),
    validate: async () =>
      check([
        [
          seconds,
          Number(seconds.value) >= 0 && Number(seconds.value) <= 86400,
          gettext("Between 0 and 86400."),
        ],
        [nodeSelector, parsePairs(nodeSelector.value) !== null, pairsHint],
        [labels, parsePairs(labels.value) !== null, pairsHint],
        [annotations, parsePairs(annotations.value) !== null, pairsHint],
      ]),
    values: () => ({
      external_access: access.value,
      session_affinity: affinity.checked,
      session_affinity_seconds: Number(seconds.value),
      node_selector: parsePairs(nodeSelector.value) || {},
      labels: parsePairs(labels.value) || {},
      annotations: parsePairs(annotations.value) || {},
    }),
  };
}
