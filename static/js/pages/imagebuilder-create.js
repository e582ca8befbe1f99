// Create Image Builder (build only, nothing deployed): artifact kind, then name and build
// settings; Create starts run #1 and opens the builder's page.
import { api } from "../api.js";
import { field, h, pageConfig, setFieldError, showFormError } from "../ui.js";
import { BuildSettings } from "../widgets/build-settings.js";

const config = pageConfig();
const root = document.getElementById("builder-form-root");
const NAME_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
let settings = null;

function chooseKind() {
  const choice = (kind, title, text) =>
    h(
      "button",
      { type: "button", class: "choice", onclick: () => showForm(kind) },
      h("strong", {}, title),
      h("span", { class: "muted" }, text),
    );
  root.replaceChildren(
    h("h2", {}, gettext("Artifact kind")),
    h(
      "div",
      { class: "chooser" },
      choice("jar", "JAR", gettext("A runnable Java archive, e.g. Spring Boot.")),
      choice("war", "WAR", gettext("A web archive deployed on Tomcat.")),
      choice("binary", gettext("Binary"), gettext("A Linux executable (ELF).")),
    ),
  );
  root.querySelector("button").focus();
}

// A taken name is told while it is typed, before the artifact is chosen and uploaded, not
// only by Create's 409. Only a found builder makes it taken: an error must not block the form.
function nameCheck(name) {
  let seq = 0;
  let timer = null;
  const check = async () => {
    const mine = ++seq;
    if (!NAME_RE.test(name.value)) return false;
    // The list filtered by the exact name: a free name is an empty page, not a 404 in the log.
    const found = await api
      .get(`${config.api.project}/imagebuilders/?name=${encodeURIComponent(name.value)}`)
      .then(
        (page) => page.results.length > 0,
        () => false,
      );
    if (mine !== seq) return found;
    setFieldError(name, found ? gettext("An image builder with this name already exists.") : "");
    return found;
  };
  name.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 250);
  });
  return check;
}

async function showForm(kind) {
  const name = h("input", { name: "name", maxlength: 63, autocomplete: "off" });
  const alias = h("input", { name: "alias", maxlength: 63 });
  const description = h("textarea", { name: "description", maxlength: 256 });
  settings = new BuildSettings({ config, kind, defaultImage: "" });
  const nameTaken = nameCheck(name);
  name.addEventListener("input", () => {
    if (!settings.image.dataset.touched) settings.image.value = `${config.project}/${name.value}`;
  });
  settings.image.addEventListener("input", () => {
    settings.image.dataset.touched = "1";
  });
  const error = h("div", { class: "form-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { novalidate: true },
    error,
    h("h2", {}, gettext("Basic Information"), ` · ${kind.toUpperCase()}`),
    h(
      "div",
      { class: "row" },
      field(gettext("Name"), name, {
        required: true,
        hint: gettext("Lowercase letters, digits and '-', starting with a letter, at most 63."),
      }),
      field(gettext("Alias"), alias),
    ),
    field(gettext("Description"), description),
    h("h2", {}, gettext("Build Settings")),
    settings.element,
    h(
      "div",
      { class: "wizard-foot" },
      h("button", { type: "button", onclick: chooseKind }, gettext("Previous")),
      h("button", { type: "submit", class: "primary" }, gettext("Create")),
    ),
  );
  root.replaceChildren(form);
  // Listen before loading the settings: a Create clicked meanwhile would otherwise submit the
  // form natively (a GET of this page, losing everything typed and uploaded).
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const nameOk = NAME_RE.test(name.value);
    setFieldError(
      name,
      nameOk ? "" : gettext("Use lowercase letters, digits and '-', starting with a letter."),
    );
    const taken = nameOk && (await nameTaken());
    if (!(settings.validate() && nameOk && !taken)) return;
    const body = {
      ...settings.values(),
      name: name.value,
      alias: alias.value,
      description: description.value,
      update_workloads: false,
    };
    try {
      const builder = await api.post(`${config.api.project}/imagebuilders/`, body);
      window.location.assign(`${config.urls.project}imagebuilders/${builder.name}/`);
    } catch (err) {
      showFormError(form, error, err);
    }
  });
  await settings.load();
  name.focus();
}

window.addEventListener("beforeunload", (event) => {
  if (settings?.uploader.uploading) {
    event.preventDefault();
    event.returnValue = "";
  }
});
chooseKind();
