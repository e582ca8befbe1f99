// Build settings shared by "Create Image Builder" and step 2 of the service wizard: artifact
// upload, environment cards (the recommended one preselected), image name, tag, target
// registry, and advanced parameters (environment variables, trigger token).
// Environment cards say whether their base image can be resolved now (checked by the server in
// the background: the page asks again while any is "checking"); unavailable ones cannot be
// chosen and say why. The preselection is the server's pick among the available environments,
// until the user picks one.
import { api, list } from "../api.js";
import { field, h, setFieldError } from "../ui.js";
import { ArtifactUpload } from "./artifact-upload.js";

export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
// An OCI repository path, optionally behind a registry host[:port].
export const IMAGE_RE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
// A token chosen by a user must resist guessing; "Generate" asks the console for a random one.
const TOKEN_RE = /^[A-Za-z0-9]{24,128}$/;
// Natural order, so java-8 comes before java-11 (plain string order put it after java-25).
const NATURAL = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
const RECHECK_MS = 1500;

export class BuildSettings {
  constructor({ config, kind, defaultImage = "" }) {
    this.config = config;
    this.kind = kind;
    this.environments = [];
    // The server's recommendation for the uploaded artifact. Kept, not only applied: the upload
    // can finish before the environment list arrives (a loaded machine), and the cards rendered
    // then must start from it instead of the first card.
    this.recommended = null;
    this.userChoseEnvironment = false;
    this.uploader = new ArtifactUpload({
      kind,
      maxBytes: config.maxArtifactBytes,
      url: `${config.api.project}/artifacts/`,
      uploadsUrl: `${config.api.project}/uploads/`,
      onUploaded: () => this.refreshEnvironments(),
    });
    this.envCards = h("div", {
      class: "env-cards",
      role: "radiogroup",
      "aria-label": gettext("Build environment"),
    });
    this.image = h("input", { name: "image_name", value: defaultImage, autocomplete: "off" });
    this.tag = h("input", { name: "tag", value: "latest", autocomplete: "off" });
    this.registry = h("select", { name: "registry_secret" });
    this.token = h("input", {
      name: "trigger_token",
      autocomplete: "off",
      minlength: 24,
      maxlength: 128,
    });
    this.generateToken = h("input", { type: "checkbox", name: "generate_trigger_token" });
    this.params = h("div", { "data-testid": "env-parameters" });
    this.envError = h("span", { class: "field-error", role: "alert" });
    // Why some environments cannot be used, said once for the page (each card: a few words).
    this.envHelp = h("p", {
      class: "env-help small",
      "data-testid": "env-unavailable-help",
      hidden: true,
    });
    this.element = h(
      "div",
      {},
      this.uploader.element,
      h(
        "div",
        { class: "field", style: "margin-top:14px" },
        h("span", { class: "label required" }, gettext("Build environment")),
        this.envHelp,
        this.envCards,
        this.envError,
      ),
      h(
        "div",
        { class: "row" },
        field(gettext("Image name"), this.image, {
          required: true,
          hint: gettext(
            "e.g. team/app or registry.example.com:5000/team/app; the registry host is added when missing.",
          ),
        }),
        field(gettext("Tag"), this.tag, { required: true }),
      ),
      field(gettext("Target registry"), this.registry, {
        required: true,
        hint: gettext("An image registry secret of this project."),
      }),
      h(
        "details",
        {},
        h("summary", {}, gettext("Advanced settings")),
        h("h3", { style: "margin-top:10px" }, gettext("Environment variables")),
        this.params,
        field(gettext("Trigger token"), this.token, {
          hint: gettext("At least 24 letters and digits; enables the remote trigger."),
        }),
        h(
          "label",
          { class: "field inline" },
          this.generateToken,
          gettext("Generate a random trigger token"),
        ),
      ),
    );
  }

  async load() {
    const secrets = await list(`${this.config.api.project}/registrysecrets/`, { limit: 100 });
    this.registry.replaceChildren(
      ...(secrets.results.length
        ? secrets.results.map((s) =>
            h(
              "option",
              { value: s.name, selected: s.is_default },
              `${s.name} (${s.registry_host || s.address})`,
            ),
          )
        : [h("option", { value: "" }, gettext("No registry secret: create one under Secrets"))]),
    );
    this.registry.addEventListener("change", () => this.refreshEnvironments());
    await this.refreshEnvironments();
    return this;
  }

  environmentsUrl() {
    const params = new URLSearchParams({ kind: this.kind });
    if (this.registry.value) params.set("registry_secret", this.registry.value);
    if (this.uploader.artifact) params.set("artifact", this.uploader.artifact.id);
    return `${this.config.api.project}/buildenvironments/?${params}`;
  }

  // One request at a time; the last answer wins. While bases are being checked, ask again.
  async refreshEnvironments() {
    clearTimeout(this.recheck);
    const asked = this.environmentsUrl();
    const answer = await api.get(asked);
    if (asked !== this.environmentsUrl()) return; // an artifact or secret changed meanwhile
    const first = !this.environments.length;
    this.environments = answer.results.sort((a, b) => NATURAL.compare(a.name, b.name));
    if (answer.recommended) this.recommended = answer.recommended;
    if (first) this.renderEnvironments();
    else this.showAvailability();
    this.showUnavailableHelp(answer);
    if (answer.recommended) this.recommend(answer.recommended);
    else if (!this.selectedEnvironment()) this.selectFirstUsable();
    const artifact = this.uploader.artifact;
    if (artifact?.inspection && answer.recommended) {
      // The summary names the environment actually preselected (the engine's pick may be down).
      this.uploader.showArtifact({
        ...artifact,
        inspection: { ...artifact.inspection, recommended_environment: answer.recommended },
      });
    }
    if (answer.checking && this.element.isConnected !== false) {
      this.recheck = setTimeout(() => this.refreshEnvironments().catch(() => {}), RECHECK_MS);
    }
  }

  showUnavailableHelp({ unavailable_help: text, settings_url: settingsUrl }) {
    const link = settingsUrl
      ? [" ", h("a", { href: settingsUrl }, gettext("Open the installation settings"))]
      : [];
    this.envHelp.replaceChildren(text || "", ...(text ? link : []));
    this.envHelp.hidden = !text;
  }

  selectFirstUsable() {
    const usable = this.envCards.querySelector(".env-card:not(.unavailable) input");
    if (usable) {
      usable.checked = true;
      this.renderParameters();
    }
  }

  showAvailability() {
    for (const card of this.envCards.querySelectorAll(".env-card")) {
      const env = this.environments.find((e) => e.name === card.dataset.env);
      const availability = env?.availability || { state: "checking" };
      const radio = card.querySelector("input");
      card.classList.toggle("unavailable", availability.state === "unavailable");
      card.dataset.availability = availability.state;
      radio.disabled = availability.state === "unavailable";
      if (radio.disabled && radio.checked) {
        radio.checked = false;
        this.selectFirstUsable();
      }
      const note = card.querySelector(".availability");
      note.textContent =
        availability.state === "unavailable"
          ? gettext("Unavailable: %s").replace(
              "%s",
              availability.short_reason || availability.reason,
            )
          : availability.state === "checking"
            ? gettext("Checking the base image…")
            : "";
      note.hidden = !note.textContent;
    }
  }

  renderEnvironments() {
    const preselected = this.environments.some((e) => e.name === this.recommended)
      ? this.recommended
      : this.environments[0]?.name;
    this.envCards.replaceChildren(
      ...this.environments.map((env) => {
        // Built-in titles are in the JavaScript catalogue; an admin's own title is shown as written.
        const title = env.title ? gettext(env.title) : env.name;
        const radio = h("input", {
          type: "radio",
          name: "environment",
          value: env.name,
          checked: env.name === preselected,
          "aria-label": title,
        });
        radio.addEventListener("change", () => {
          this.userChoseEnvironment = true;
          this.renderParameters();
        });
        return h(
          "label",
          { class: "env-card", dataset: { env: env.name } },
          radio,
          h("strong", {}, title),
          h("div", { class: "small muted mono" }, env.base_image),
          h(
            "span",
            { class: "badge", hidden: env.name !== this.recommended },
            gettext("recommended"),
          ),
          h("div", { class: "availability small", role: "status", hidden: true }),
        );
      }),
    );
    this.showAvailability();
    this.renderParameters();
  }

  recommend(name) {
    this.recommended = name || null;
    for (const card of this.envCards.querySelectorAll(".env-card")) {
      const match = card.dataset.env === name;
      card.querySelector(".badge").hidden = !match;
      if (match && !this.userChoseEnvironment) {
        card.querySelector("input").checked = true;
      }
    }
    this.renderParameters();
  }

  selectedEnvironment() {
    const checked = this.envCards.querySelector("input:checked");
    return this.environments.find((e) => e.name === checked?.value) || null;
  }

  renderParameters() {
    const env = this.selectedEnvironment();
    const parameters = env?.spec?.parameters || [];
    this.params.replaceChildren(
      ...(parameters.length
        ? parameters.map((p) =>
            field(
              `${p.key} (${p.description ? gettext(p.description) : ""})`,
              h("input", { value: p.default || "", dataset: { key: p.key }, autocomplete: "off" }),
            ),
          )
        : [h("p", { class: "small muted" }, gettext("This environment has no parameters."))]),
    );
  }

  validate() {
    let ok = true;
    const check = (control, valid, message) => {
      setFieldError(control, valid ? "" : message);
      ok = ok && valid;
    };
    if (!this.uploader.artifact) {
      if (this.uploader.uploading)
        this.uploader.fail(gettext("Wait until the upload has finished."));
      else if (this.uploader.rejection) this.uploader.reject(this.uploader.rejection);
      else this.uploader.fail(gettext("Choose the artifact file."));
      ok = false;
    }
    this.envError.textContent = this.selectedEnvironment()
      ? ""
      : gettext("Choose a build environment.");
    ok = ok && Boolean(this.selectedEnvironment());
    check(
      this.image,
      IMAGE_RE.test(this.image.value.trim()),
      gettext(
        "Use lowercase letters, digits, '.', '-', '_' and '/', optionally after a registry host[:port].",
      ),
    );
    check(
      this.tag,
      TAG_RE.test(this.tag.value.trim()),
      gettext("Letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'."),
    );
    check(
      this.registry,
      Boolean(this.registry.value),
      gettext("Choose a registry secret (create one under Secrets)."),
    );
    check(
      this.token,
      !this.token.value || this.generateToken.checked || TOKEN_RE.test(this.token.value),
      gettext("24 to 128 letters and digits."),
    );
    return ok;
  }

  values() {
    const parameters = {};
    for (const input of this.params.querySelectorAll("input[data-key]"))
      if (input.value !== "") parameters[input.dataset.key] = input.value;
    return {
      artifact_kind: this.kind,
      artifact_id: this.uploader.artifact?.id,
      environment: this.selectedEnvironment()?.name,
      image_name: this.image.value.trim(),
      tag: this.tag.value.trim(),
      registry_secret: this.registry.value,
      environment_parameters: parameters,
      ...(this.generateToken.checked
        ? { generate_trigger_token: true }
        : { trigger_token: this.token.value }),
    };
  }
}
