// The Run dialog: optionally a new artifact and/or a new tag, and whether the workloads are
// updated after a successful build. Resolves with the new run. Both a new artifact and a new tag
// become the builder's own (later runs use them); the dialog says so for the tag.
import { api } from "../api.js";
import { field, h, openDialog, setFieldError, toast } from "../ui.js";
import { ArtifactUpload } from "./artifact-upload.js";
import { TAG_RE } from "./build-settings.js";

export function openRunDialog({ config, builder, onStarted }) {
  const base = `${config.api.project}/imagebuilders/${builder.name}/`;
  const uploader = new ArtifactUpload({
    kind: builder.artifact_kind,
    maxBytes: config.maxArtifactBytes,
    url: `${config.api.project}/artifacts/`,
    uploadsUrl: `${config.api.project}/uploads/`,
    label: gettext("New artifact (optional)"),
    required: false,
    recommend: false,
  });
  // Run pressed while the file is still uploading: the run starts when the upload has ended.
  const waiting = h("p", { class: "notice", role: "status", hidden: true });
  const tag = h("input", { name: "tag", value: builder.tag, autocomplete: "off" });
  const update = h("input", {
    type: "checkbox",
    name: "update_workloads",
    checked: builder.update_workloads,
  });
  // A new tag is not for this run only: the builder keeps it, so the user is told before Run.
  const tagNote = h("p", {
    class: "notice warn",
    role: "status",
    "data-testid": "tag-change-note",
    hidden: true,
  });
  tag.addEventListener("input", () => {
    const changed = tag.value.trim() && tag.value.trim() !== builder.tag;
    tagNote.hidden = !changed;
    tagNote.textContent = changed
      ? gettext(
          "The builder's tag changes from %(old)s to %(new)s: later builds and triggers also use the new tag.",
        )
          .replace("%(old)s", builder.tag)
          .replace("%(new)s", tag.value.trim())
      : "";
  });
  const body = h(
    "div",
    {},
    h(
      "p",
      { class: "muted" },
      gettext("Current artifact: "),
      builder.artifact ? builder.artifact.file_name : "—",
    ),
    h("p", { class: "muted" }, gettext("Build environment: "), builder.environment),
    uploader.element,
    waiting,
    field(gettext("Tag"), tag, { required: true }),
    tagNote,
    h(
      "label",
      { class: "field inline" },
      update,
      gettext("Update workloads after a successful build"),
    ),
  );
  return openDialog({
    title: gettext("Run %s").replace("%s", builder.name),
    body,
    submitLabel: gettext("Run"),
    wide: true,
    onSubmit: async () => {
      if (uploader.uploading) {
        waiting.hidden = false;
        waiting.textContent = gettext("The run starts when the upload has finished.");
        await uploader.settled();
        waiting.hidden = true;
        if (!body.isConnected) return true; // the dialog was closed meanwhile: no run
        if (!uploader.artifact) return true; // refused: the uploader shows why
      }
      if (!TAG_RE.test(tag.value)) {
        setFieldError(tag, gettext("Letters, digits, '_', '.' and '-', at most 128."));
        return true;
      }
      if (update.checked !== builder.update_workloads)
        await api.patch(base, { update_workloads: update.checked });
      const request = { tag: tag.value };
      if (uploader.artifact) request.artifact_id = uploader.artifact.id;
      const run = await api.post(`${base}run/`, request);
      toast(gettext("Run #%s started").replace("%s", run.number), "success");
      onStarted?.(run);
    },
  });
}
