// Server messages in the user's language, by their stable code. The API answers English
// messages ({"code", "message"}; build errors and registry checks carry a code too); where this
// catalogue has the code, a page in another language shows its translation instead. In English,
// or for a code not listed here, the server's own message (with its details) is shown unchanged.

const MESSAGES = () => ({
  "access:forbidden": gettext("You may not do this in this project."),
  "artifact:bad-file-name": gettext(
    "The file name contains control or bidirectional-text characters; rename the file and upload it again.",
  ),
  "artifact:bad-link": gettext("The artifact link is not valid."),
  "artifact:bad-sha256": gettext("The sha256 must be 64 hexadecimal characters."),
  "artifact:bad-url": gettext("The artifact URL is not valid."),
  "artifact:download-failed": gettext("The artifact could not be downloaded."),
  "artifact:link-expired": gettext("The artifact link has expired."),
  "artifact:missing": gettext("The stored artifact is gone from storage; upload it again."),
  "artifact:sha256-mismatch": gettext(
    "The downloaded artifact does not match the expected sha256.",
  ),
  "artifact:too-large": gettext("The artifact is larger than the size limit."),
  "artifact:unknown": gettext("No such artifact in this project."),
  "auth:failed": gettext("Sign-in failed: check the user name and password or token."),
  "auth:not-authenticated": gettext("Sign in first."),
  "build:artifact-fetch-failed": gettext("The build could not fetch its artifact."),
  "build:cancelled": gettext("The build was cancelled."),
  "build:internal": gettext("The build failed with an internal error; the log has the details."),
  "build:job-failed": gettext("The build Job failed in the cluster; the log has the details."),
  "build:job-lost": gettext("The build Job disappeared from the cluster."),
  "build:job-no-digest": gettext("The build Job ended without reporting an image digest."),
  "build:queue-lost": gettext("The queued build was lost and could not be queued again."),
  "build:superseded": gettext("Cancelled: a newer run of this builder was queued."),
  "build:timeout": gettext("The build took longer than its time limit."),
  "build:user:bad-ca-file": gettext("The CA certificate file is not usable."),
  "build:user:bad-context-path": gettext("The WAR's context path is not valid."),
  "build:user:corrupt-archive": gettext("The archive is damaged and cannot be read."),
  "build:user:empty-file": gettext("The file is empty."),
  "build:user:encrypted-archive": gettext("The archive is encrypted; upload it unencrypted."),
  "build:user:environment-mismatch": gettext("This build environment does not fit the artifact."),
  "build:user:invalid-env": gettext("An environment variable name or value is not valid."),
  "build:user:invalid-platform": gettext("The platform is not valid (OS/ARCH, e.g. linux/amd64)."),
  "build:user:invalid-port": gettext("A port is not valid."),
  "build:user:invalid-target": gettext("The target image reference is not valid; push to a tag."),
  "build:user:kind-mismatch": gettext(
    "The file is not of the chosen artifact type; choose the type it is.",
  ),
  "build:user:missing-parameter": gettext(
    "The build environment needs a parameter that has no value.",
  ),
  "build:user:no-artifact": gettext("The run has no readable artifact."),
  "build:user:no-environment": gettext("Choose a build environment."),
  "build:user:not-a-linux-binary": gettext("The file is not a Linux executable."),
  "build:user:not-an-archive": gettext(
    "The file is not a zip archive, so it is not a JAR or a WAR.",
  ),
  "build:user:not-executable-jar": gettext(
    "The JAR is not executable: its manifest has no Main-Class. Build it as a runnable JAR.",
  ),
  "build:user:platform-all-needs-jvm": gettext(
    "Building for all platforms is for JARs and WARs only.",
  ),
  "build:user:platform-unavailable": gettext(
    "The base image has no variant for the chosen platform.",
  ),
  "build:user:too-many-entries": gettext("The archive has too many entries."),
  "build:user:unknown-kind": gettext("The file is not a JAR, a WAR or a Linux executable."),
  "build:user:unreadable-artifact": gettext("The artifact cannot be read."),
  "build:user:unsafe-path": gettext(
    "The archive holds an unsafe path (absolute, or leaving its folder).",
  ),
  "build:user:unsupported-architecture": gettext("The binary's CPU architecture is not supported."),
  "build:user:zip-bomb": gettext("The archive unpacks to far more than its size and was refused."),
  "build:worker-lost": gettext("The worker running the build stopped answering."),
  "builder:artifact-required": gettext("Upload the artifact first."),
  "builder:environment-kind-mismatch": gettext(
    "This build environment does not accept this kind of artifact.",
  ),
  "builder:invalid-image-name": gettext("The image name is not valid."),
  "builder:name-taken": gettext("An image builder with this name already exists in the project."),
  "builder:run-active": gettext("A run of this builder is still active."),
  "builder:unknown-registry-secret": gettext("No such registry secret in this project."),
  "conflict:in-use": gettext("This is still in use; delete or change its users first."),
  "delete:confirmation-required": gettext("Type the name to confirm the deletion."),
  "environment:base-unavailable": gettext(
    "The base image of this build environment cannot be pulled now.",
  ),
  "image:invalid-base": gettext("The base image is not usable for this build."),
  "image:unsupported": gettext("This image format is not supported."),
  "kube:api-error": gettext("The Kubernetes API answered with an error."),
  "kube:auth-failed": gettext("The cluster refused the console's credentials."),
  "kube:conflict": gettext("The Kubernetes object was changed meanwhile; try again."),
  "kube:forbidden": gettext("The console may not do this in the cluster."),
  "kube:not-configured": gettext(
    "No Kubernetes cluster is configured yet: a platform admin adds one in the admin under Workloads → Clusters.",
  ),
  "kube:not-found": gettext("The Kubernetes object does not exist."),
  "kube:unreachable": gettext("The Kubernetes cluster cannot be reached."),
  "kube:user:invalid-kubeconfig": gettext("The cluster's kubeconfig is not usable."),
  "kube:user:invalid-object": gettext("The cluster rejected the object."),
  "members:already-member": gettext("This user is already a member."),
  "members:last-admin": gettext("The last admin cannot be removed or demoted."),
  "members:unknown-user": gettext("No user with this name."),
  "notify:bad-url": gettext("The webhook URL is not valid."),
  "notify:blocked-address": gettext(
    "Notifications are not sent to this address on this installation.",
  ),
  "notify:name-taken": gettext("A channel with this name already exists in the project."),
  "notify:not-subscribed": gettext("Subscribe first, then send a test."),
  "notify:secret-required": gettext("A generic webhook needs a signing secret."),
  "project:has-active-builds": gettext("Cancel the running builds of this project first."),
  "project:name-taken": gettext("This project name is not available; choose another."),
  "reference:invalid": gettext("The image reference is not valid."),
  "registry:auth-failed": gettext("The registry refused the credentials."),
  "registry:blob-unknown": gettext("The registry does not have a layer it was asked for."),
  "registry:blocked-address": gettext("This registry address is not allowed on this installation."),
  "registry:digest-mismatch": gettext(
    "The registry returned content that does not match its digest.",
  ),
  "registry:dns-failed": gettext("The registry's host name cannot be resolved."),
  "registry:error": gettext("The registry answered with an error."),
  "registry:manifest-invalid": gettext("The registry refused the image manifest."),
  "registry:manifest-unknown": gettext("The image or tag does not exist in the registry."),
  "registry:protocol": gettext(
    "The registry does not speak the expected protocol (HTTP or HTTPS?).",
  ),
  "registry:proxy": gettext("The outbound proxy failed."),
  "registry:proxy-auth-failed": gettext("The outbound proxy refused its credentials."),
  "registry:proxy-invalid": gettext("The outbound proxy setting is not valid."),
  "registry:proxy-refused": gettext("The outbound proxy refused the connection."),
  "registry:proxy-unreachable": gettext("The outbound proxy cannot be reached."),
  "registry:pull-denied": gettext(
    "The registry does not allow pulling this image with these credentials.",
  ),
  "registry:push-denied": gettext(
    "The registry does not allow pushing to this repository with these credentials.",
  ),
  "registry:request-failed": gettext("A request to the registry failed."),
  "registry:timeout": gettext("The registry did not answer in time."),
  "registry:tls": gettext("The registry's TLS certificate is not trusted."),
  "registry:unreachable": gettext("The registry cannot be reached."),
  "request:error": gettext("The request failed."),
  "request:invalid-parameter": gettext("A parameter of the request is not valid."),
  "request:malformed": gettext("The request is malformed."),
  "request:method-not-allowed": gettext("This action is not allowed here."),
  "request:not-acceptable": gettext("The requested format is not available."),
  "request:throttled": gettext("Too many requests; wait a moment and try again."),
  "request:too-large": gettext("The request is larger than the size limit."),
  "request:unstorable-value": gettext(
    "A value cannot be stored (a NUL character, a number out of range or a text too long).",
  ),
  "request:unsupported-media-type": gettext("The request's content type is not supported."),
  "sbom:none": gettext("This run has no SBOM."),
  "secret:name-taken": gettext("A secret with this name already exists in the project."),
  "secret:password-required": gettext("Enter the password or token."),
  "secret:undecryptable": gettext(
    "The stored secret cannot be decrypted with the current keys; enter it again.",
  ),
  "secret:unknown": gettext("No such secret in this project."),
  "service:no-builder": gettext("This service has no image builder."),
  "service:user:builder-elsewhere": gettext("The image builder is in another project."),
  "service:user:invalid-spec": gettext("The service settings are not valid."),
  "service:user:name-reserved": gettext("This name is reserved; choose another."),
  "service:user:name-taken": gettext("A service with this name already exists."),
  "service:user:no-such-run": gettext("There is no such run."),
  "service:user:run-not-successful": gettext("Only a successful run has an image to deploy."),
  "service:user:unknown-builder": gettext("No such image builder in this project."),
  "upload:bad-chunk": gettext("The upload chunk was refused."),
  "upload:complete": gettext("The upload is already complete."),
  "upload:gone": gettext("The upload no longer exists; start it again."),
  "upload:offset-mismatch": gettext("The upload continues from another offset."),
  "upload:staging-lost": gettext("The uploaded bytes were lost; upload the file again."),
  "upload:too-long": gettext("The upload took too long and was dropped."),
  "validation:invalid": gettext("Some values are not valid: see the marked fields."),
  "workspace:name-taken": gettext("This workspace name is not available; choose another."),
  "workspace:not-empty": gettext("The workspace still has projects; delete them first."),
  "login:ok": gettext("Login succeeded."),
  "push:ok": gettext("Push permission confirmed."),
});

const english = () => (document.documentElement.lang || "en").startsWith("en");

export function localizeMessage(code, message) {
  const text = code ? MESSAGES()[code] : undefined;
  return !text || english() ? message : text;
}

// The WAR's URL path as the server computes it: "/" for ROOT, "/shop/" for shop(.war).
function urlPath(context) {
  return context === "ROOT" ? "/" : `/${context.replaceAll("#", "/")}/`;
}

// The one-line description of an inspected artifact, built from the inspection's facts (the
// server's own summary is English), e.g. "Spring Boot JAR · Java 17 bytecode".
export function describeInspection(inspection, fallback) {
  if (!inspection || english()) return fallback;
  const bin = inspection.binary;
  if (bin) {
    if (bin.linkage === "script") return `${gettext("Script")} · #!${bin.interpreter}`;
    const linkage =
      { static: gettext("Static Linux binary"), dynamic: gettext("Dynamic Linux binary") }[
        bin.linkage
      ] || gettext("Linux binary");
    return [linkage, bin.architecture, bin.interpreter].filter(Boolean).join(" · ");
  }
  const release = inspection.java_release;
  let bytecode = release
    ? gettext("Java %s bytecode").replace("%s", release)
    : gettext("no classes");
  if (inspection.jar && !inspection.jar.classes_scanned)
    bytecode = gettext("class versions not read yet");
  if (inspection.jar) {
    return [
      inspection.jar.spring_boot ? gettext("Spring Boot JAR") : gettext("Executable JAR"),
      bytecode,
      inspection.jar.multi_release ? gettext("multi-release") : null,
      inspection.jar.signed ? gettext("signed") : null,
    ]
      .filter(Boolean)
      .join(" · ");
  }
  if (inspection.war && inspection.context_path) {
    const namespace = inspection.servlet_namespace
      ? `${inspection.servlet_namespace}.servlet`
      : null;
    return [
      "WAR",
      namespace,
      bytecode,
      gettext("served at %s").replace("%s", urlPath(inspection.context_path)),
    ]
      .filter(Boolean)
      .join(" · ");
  }
  return fallback;
}
