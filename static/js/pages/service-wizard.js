// "Create Service from Artifact": five KubeSphere steps + a review, then a progress view.
// Steps are built once and only hidden, so Previous keeps every input; Next validates the
// current step; nothing is created before Create (the artifact upload is content-addressed
// and becomes part of something only when Create is pressed).
import { api } from "../api.js";
import { field, h, pageConfig, reportError, setFieldError, showFormError } from "../ui.js";
import { BuildSettings } from "../widgets/build-settings.js";
import { toYaml } from "../widgets/yaml.js";
import { podStep, storageStep, advancedStep } from "../widgets/wizard-steps.js";
import { showProgress } from "../widgets/service-progress.js";

const config = pageConfig();
const kind = config.kind;
const root = document.getElementById("wizard-root");
const NAME_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const VERSION_RE = /^[a-z0-9]*$/;
const ALIAS_RE = /^(?!-)[\p{L}\p{N}-]*(?<!-)$/u;

// --- Step 1: Basic Information ---------------------------------------------------------------
function basicStep() {
  const name = h("input", { name: "name", maxlength: 63, autocomplete: "off" });
  const alias = h("input", { name: "alias", maxlength: 63 });
  const version = h("input", { name: "version", value: "v1", maxlength: 16 });
  const description = h("textarea", { name: "description", maxlength: 256 });
  const availability = h("span", {
    class: "small",
    "aria-live": "polite",
    "data-testid": "name-availability",
  });
  let checkSeq = 0;
  let taken = false;
  // Checked while typing: a service or an image builder of that name already in the project.
  const checkName = async () => {
    const value = name.value;
    const seq = ++checkSeq;
    taken = false;
    if (!NAME_RE.test(value)) {
      availability.textContent = "";
      return;
    }
    // Only a found object makes the name taken; a server error must not block the wizard
    // (Create would still answer 409 for a real clash).
    // Each list filtered by the exact name: a free name is an empty page, not a 404 in the log.
    const exists = async (path) =>
      api.get(`${config.api.project}/${path}/?name=${encodeURIComponent(value)}`).then(
        (page) => page.results.length > 0,
        () => false,
      );
    const [service, builder] = await Promise.all([exists("services"), exists("imagebuilders")]);
    if (seq !== checkSeq) return;
    taken = service || builder;
    availability.textContent = taken
      ? gettext("This name is already used in the project.")
      : gettext("Name available");
    availability.style.color = taken ? "var(--danger)" : "var(--ok)";
  };
  let timer = null;
  name.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(checkName, 250);
  });
  const element = h(
    "div",
    {},
    h("h2", {}, gettext("Basic Information")),
    h(
      "div",
      { class: "row" },
      h(
        "div",
        { class: "field" },
        h("label", { for: "svc-name", class: "required" }, gettext("Name")),
        Object.assign(name, { id: "svc-name" }),
        h(
          "span",
          { class: "hint" },
          gettext("Lowercase letters, digits and '-', starting with a letter, at most 63."),
        ),
        availability,
        h("span", { class: "field-error", id: "svc-name-error" }),
      ),
      field(gettext("Alias"), alias, { hint: gettext("Letters, digits, CJK characters and '-'.") }),
    ),
    field(gettext("Version"), version, {
      required: true,
      hint: gettext("Lowercase letters and digits; the workload is named <name>-<version>."),
    }),
    field(gettext("Description"), description),
  );
  return {
    title: gettext("Basic Information"),
    element,
    focus: () => name.focus(),
    validate: async () => {
      await checkName();
      const checks = [
        [
          name,
          NAME_RE.test(name.value) && name.value.length <= 63,
          gettext("Use lowercase letters, digits and '-', starting with a letter."),
        ],
        [name, !taken, gettext("This name is already used in the project.")],
        [
          alias,
          ALIAS_RE.test(alias.value),
          gettext("Letters, digits, CJK characters and '-', not at the start or end."),
        ],
        [
          version,
          Boolean(version.value) && VERSION_RE.test(version.value),
          gettext("Lowercase letters and digits, at most 16."),
        ],
      ];
      let ok = true;
      const failed = new Set();
      for (const [control, valid, message] of checks) {
        if (failed.has(control)) continue;
        setFieldError(control, valid ? "" : message);
        if (!valid) {
          ok = false;
          failed.add(control);
        }
      }
      return ok;
    },
    values: () => ({
      name: name.value,
      alias: alias.value,
      version: version.value,
      description: description.value,
    }),
  };
}

// --- Step 2: Build Settings ------------------------------------------------------------------
function buildStep(basic) {
  const settings = new BuildSettings({ config, kind });
  const stateless = h("input", { type: "radio", name: "kind", value: "stateless", checked: true });
  const stateful = h("input", { type: "radio", name: "kind", value: "stateful" });
  const element = h(
    "div",
    {},
    h("h2", {}, gettext("Build Settings")),
    h(
      "fieldset",
      {},
      h("legend", {}, gettext("Service type")),
      h("label", { class: "field inline" }, stateless, gettext("Stateless service (Deployment)")),
      h("label", { class: "field inline" }, stateful, gettext("Stateful service (StatefulSet)")),
    ),
    settings.element,
  );
  return {
    title: gettext("Build Settings"),
    element,
    settings,
    load: () => settings.load(),
    focus: () => stateless.focus(),
    onEnter: () => {
      if (!settings.image.dataset.touched)
        settings.image.value = `${config.project}/${basic.values().name}`;
    },
    validate: async () => settings.validate(),
    values: () => ({
      kind: stateful.checked ? "stateful" : "stateless",
      build: settings.values(),
      environment: settings.selectedEnvironment(),
    }),
  };
}

// --- Wizard frame ----------------------------------------------------------------------------
const basic = basicStep();
const build = buildStep(basic);
build.settings.image.addEventListener("input", () => {
  build.settings.image.dataset.touched = "1";
});
const pod = podStep({ kind, environment: () => build.values().environment });
const storage = storageStep({ isStateful: () => build.values().kind === "stateful" });
const advanced = advancedStep();
const review = {
  title: gettext("Review"),
  element: h("div", {}, h("h2", {}, gettext("Review"))),
  validate: async () => true,
};
const steps = [basic, build, pod, storage, advanced, review];
let current = 0;

const stepList = h(
  "ol",
  { class: "wizard-steps", "aria-label": gettext("Steps") },
  steps.map((s) => h("li", {}, s.title)),
);
const error = h("div", { class: "form-error", role: "alert", hidden: true });
const previous = h(
  "button",
  { type: "button", onclick: () => go(current - 1) },
  gettext("Previous"),
);
const next = h(
  "button",
  { type: "submit", class: "primary", "data-testid": "wizard-next" },
  gettext("Next"),
);
const form = h(
  "form",
  { novalidate: true, "aria-labelledby": "wizard-step-title" },
  error,
  ...steps.map((s) => Object.assign(h("section", { hidden: true }, s.element), {})),
  h("div", { class: "wizard-foot" }, previous, next),
);
root.replaceChildren(h("div", { class: "wizard" }, stepList, form));

function spec() {
  const b = basic.values();
  const built = build.values();
  return {
    name: b.name,
    alias: b.alias,
    version: b.version,
    kind: built.kind,
    ...pod.values(),
    volumes: storage.values(),
    ...advanced.values(),
    context_path:
      kind === "war" ? build.settings.uploader.artifact?.inspection?.context_path || "" : "",
  };
}

function builderBody() {
  const b = basic.values();
  return {
    ...build.values().build,
    name: b.name,
    alias: b.alias,
    description: b.description,
    update_workloads: true,
  };
}

async function renderReview() {
  const builder = builderBody();
  const yamlBox = h("pre", { class: "yaml", "data-testid": "review-yaml" }, gettext("Rendering…"));
  review.element.replaceChildren(
    h("h2", {}, gettext("Review")),
    h(
      "p",
      { class: "muted" },
      gettext(
        "Nothing has been created yet. Create makes the image builder, starts its first build, " +
          "and creates these objects in the project's namespace.",
      ),
    ),
    h("h3", {}, gettext("Image builder")),
    h(
      "pre",
      { class: "yaml" },
      toYaml({
        kind: "ImageBuilder",
        ...builder,
        artifact: build.settings.uploader.artifact?.file_name,
      }),
    ),
    h("h3", {}, gettext("Kubernetes objects")),
    yamlBox,
  );
  try {
    const preview = await api.post(`${config.api.project}/services/preview/`, {
      builder: builder.name,
      builder_settings: builder,
      spec: spec(),
    });
    yamlBox.textContent = preview.yaml;
  } catch (err) {
    // The server refused the settings as Create would: say why, and show the spec as typed.
    yamlBox.dataset.previewError = err.code;
    yamlBox.textContent = `# ${err.message}\n${toYaml(spec())}`;
  }
}

async function go(index) {
  if (index < 0 || index >= steps.length) return;
  current = index;
  [...form.querySelectorAll(":scope > section")].forEach((section, i) => {
    section.hidden = i !== index;
  });
  [...stepList.children].forEach((li, i) => {
    li.toggleAttribute("aria-current", i === index);
    if (i === index) li.setAttribute("aria-current", "step");
    li.classList.toggle("done", i < index);
  });
  previous.disabled = index === 0;
  next.textContent = index === steps.length - 1 ? gettext("Create") : gettext("Next");
  error.hidden = true;
  steps[index].onEnter?.();
  if (steps[index] === review) await renderReview();
  const section = form.querySelectorAll(":scope > section")[index];
  const heading = section.querySelector("h2");
  if (heading) heading.id = "wizard-step-title";
  if (steps[index].focus) steps[index].focus();
  else section.querySelector("input, select, button")?.focus();
}

async function create() {
  next.disabled = true;
  let builder = null;
  try {
    builder = await api.post(`${config.api.project}/imagebuilders/`, builderBody());
    const service = await api.post(`${config.api.project}/services/`, {
      builder: builder.name,
      spec: spec(),
    });
    window.removeEventListener("beforeunload", guard);
    showProgress({ config, root, builder, service, artifact: build.settings.uploader.artifact });
  } catch (err) {
    if (builder) await undoBuilder(builder);
    showFormError(form, error, err);
  } finally {
    next.disabled = false;
  }
}

// Creating the service failed after the builder was made: take the builder back so a
// failed Create leaves nothing behind (its first run is cancelled first).
async function undoBuilder(builder) {
  const base = `${config.api.project}/imagebuilders/${builder.name}/`;
  try {
    if (builder.run) await api.post(`${base}runs/${builder.run.number}/cancel/`);
    await api.delete(`${base}?confirm=${encodeURIComponent(builder.name)}`);
  } catch (err) {
    reportError(err);
  }
}

let busy = false; // validation awaits the server: a second Enter/click must not skip a step
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (busy) return;
  busy = true;
  error.hidden = true;
  try {
    if (!(await steps[current].validate())) {
      form.querySelector("section:not([hidden]) [aria-invalid=true]")?.focus();
      return;
    }
    if (current === steps.length - 1) await create();
    else await go(current + 1);
  } finally {
    busy = false;
  }
});

// Leaving mid-upload (or with typed input) asks first.
function guard(event) {
  if (build.settings.uploader.uploading || basic.values().name) {
    event.preventDefault();
    event.returnValue = "";
  }
}
window.addEventListener("beforeunload", guard);

build.load().catch(reportError);
go(0);
