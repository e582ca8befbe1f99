// Artifact drop zone: shows the size limit, refuses too-large files before sending a byte,
// uploads with a progress bar, then shows what the server found in the file's content
// (e.g. "Spring Boot JAR · Java 17 bytecode → recommended: java-17").
import { chunkedUpload, upload } from "../api.js";

// Above this size the file goes in resumable chunks instead of one request.
const CHUNKED_ABOVE = 32 * 1024 * 1024;
import { formatBytes, h } from "../ui.js";
import { describeInspection } from "../messages.js";

const ACCEPT = { jar: ".jar", war: ".war", binary: "" };

export class ArtifactUpload {
  constructor({
    kind,
    maxBytes,
    url,
    uploadsUrl,
    onUploaded = () => {},
    onChange = () => {},
    label,
    required = true,
    recommend = true,
  }) {
    Object.assign(this, { kind, maxBytes, url, uploadsUrl, onUploaded, onChange, recommend });
    this.artifact = null;
    this.rejection = null;
    this.current = null;
    this.input = h("input", {
      type: "file",
      id: `artifact-file-${Math.random().toString(36).slice(2, 8)}`,
      name: "file",
      accept: ACCEPT[kind] || null,
      "data-testid": "artifact-file",
    });
    this.progress = h("progress", {
      max: 100,
      value: 0,
      hidden: true,
      "aria-label": gettext("Upload progress"),
    });
    this.progressText = h("span", { class: "small muted", "aria-live": "polite" });
    this.result = h("div", { "aria-live": "polite", "data-testid": "artifact-result" });
    this.zone = h(
      "div",
      { class: "dropzone" },
      h(
        "label",
        { for: this.input.id, class: required ? "required" : null, style: "font-weight:600" },
        label || gettext("Artifact file"),
      ),
      " ",
      this.input,
      h(
        "p",
        { class: "small muted" },
        gettext("Drop the file here or choose it. Size limit: %s.").replace(
          "%s",
          formatBytes(maxBytes),
        ),
      ),
      this.progress,
      this.progressText,
    );
    this.element = h("div", {}, this.zone, this.result);
    this.input.addEventListener(
      "change",
      () => this.input.files[0] && this.send(this.input.files[0]),
    );
    this.zone.addEventListener("dragover", (e) => {
      e.preventDefault();
      this.zone.classList.add("dragover");
    });
    this.zone.addEventListener("dragleave", () => this.zone.classList.remove("dragover"));
    this.zone.addEventListener("drop", (e) => {
      e.preventDefault();
      this.zone.classList.remove("dragover");
      if (e.dataTransfer.files[0]) this.send(e.dataTransfer.files[0]);
    });
  }

  get uploading() {
    return this.current !== null;
  }

  // Resolves once no upload is in flight, however the last one ended (a file chosen meanwhile
  // is waited for too): `artifact` or `rejection` then holds the answer.
  async settled() {
    while (this.current) await this.current.promise.catch(() => {});
  }

  fail(message) {
    this.result.replaceChildren(h("div", { class: "inspection bad", role: "alert" }, message));
  }

  // A refused file: its reason stays the step's answer (a later Next or Create shows it again,
  // not "choose the file"), and the chooser is cleared so another (or the same, fixed) file
  // can be picked.
  reject(message) {
    this.rejection = message;
    this.progress.hidden = true;
    this.progressText.textContent = "";
    this.input.value = "";
    this.fail(`${asSentence(message)} ${gettext("Choose another file.")}`);
  }

  async send(file) {
    this.artifact = null;
    this.rejection = null;
    this.onChange(null);
    if (file.size > this.maxBytes) {
      this.reject(
        gettext("%(name)s is %(size)s; the limit is %(limit)s.")
          .replace("%(name)s", file.name)
          .replace("%(size)s", formatBytes(file.size))
          .replace("%(limit)s", formatBytes(this.maxBytes)),
      );
      return;
    }
    const form = new FormData();
    form.append("file", file);
    if (this.kind) form.append("kind", this.kind);
    this.progress.hidden = false;
    this.progress.value = 0;
    this.result.replaceChildren();
    const onProgress = (loaded, total) => {
      this.progress.value = Math.round((loaded / total) * 100);
      this.progressText.textContent = `${formatBytes(loaded)} / ${formatBytes(total)}`;
    };
    // A one-request upload reports the multipart body's bytes (boundaries and headers too):
    // shown as the same fraction of the file, so the user sees the file's own size.
    const ofFile = (loaded, total) =>
      onProgress(Math.round((loaded / total) * file.size), file.size);
    this.current =
      this.uploadsUrl && file.size > CHUNKED_ABOVE
        ? chunkedUpload(this.uploadsUrl, file, { kind: this.kind, onProgress })
        : upload(this.url, form, { onProgress: ofFile });
    try {
      this.artifact = await this.current.promise;
      this.progress.value = 100;
      this.showArtifact(this.artifact);
      this.onUploaded(this.artifact);
      this.onChange(this.artifact);
    } catch (err) {
      this.reject(err.message);
    } finally {
      this.current = null;
    }
  }

  showArtifact(artifact) {
    // Where the environment is already chosen (a builder's Run), naming another would mislead.
    const recommended = this.recommend && artifact.inspection?.recommended_environment;
    const summary = describeInspection(artifact.inspection, artifact.summary);
    const text = recommended ? `${summary} → ${gettext("recommended")}: ${recommended}` : summary;
    const warnings = artifact.inspection?.warnings || [];
    this.result.replaceChildren(
      h(
        "div",
        { class: "inspection", "data-testid": "inspection-summary" },
        h("strong", {}, artifact.file_name),
        ` · ${formatBytes(artifact.size)} · `,
        text,
        warnings.length
          ? h(
              "ul",
              {},
              warnings.map((w) => h("li", {}, w)),
            )
          : null,
      ),
    );
  }

  abort() {
    this.current?.abort();
  }
}

// The engine's reasons are clauses ("this file is not a JAR: …") written to follow "Build
// failed: " in a log; shown on their own they start a sentence.
function asSentence(message) {
  return message.charAt(0).toUpperCase() + message.slice(1);
}
