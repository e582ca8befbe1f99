"""Build environments as data: base image, accepted kinds, placement, run command, parameters.

`BUILTIN_ENVIRONMENTS` is what the console seeds its database with (`as_dict` / `from_dict`).
Placement templates may use `{context}` (a WAR's context name) and `{filename}` (the uploaded
file's safe base name). `keep_base_command` means the base image's entrypoint/cmd stay as they
are (the KubeSphere images start whatever they find in /deployments).
"""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from b2i.packaging.errors import ENVIRONMENT_MISMATCH, ArtifactError

if TYPE_CHECKING:
    from b2i.packaging.binary import BinaryFacts
    from b2i.packaging.inspection import Inspection

_SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EnvironmentParameter:
    """An environment variable the user may set for this environment."""

    key: str
    description: str
    default: str = ""
    required: bool = False


@dataclass(frozen=True)
class BuildEnvironment:
    """How an artifact becomes an image on a given base: where it goes and how it runs."""

    name: str
    title: str
    base_image: str
    artifact_kinds: tuple[str, ...]
    placement: str
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    keep_base_command: bool = False
    workdir: str | None = None
    user: str | None = None
    port: int | None = None
    parameters: tuple[EnvironmentParameter, ...] = ()
    java_release: int | None = None
    servlet_namespace: str | None = None
    architectures: tuple[str, ...] = ("amd64", "arm64")
    interpreters: tuple[str, ...] = ()
    provides_libc: bool = True
    # Exploding a JAR/WAR into layers changes the command; environments whose base runs a
    # script looking for the packaged file (KubeSphere's /deployments) must keep it packaged.
    allows_exploded: bool = True
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        problem = _environment_problem(self)
        if problem:
            raise ValueError(f"build environment {self.name or '?'}: {problem}")

    def target_path(self, *, context: str | None = None, filename: str | None = None) -> str:
        """Return the image path the artifact is placed at, the template filled in."""
        safe_name = _SAFE_FILENAME.sub("-", filename or "app").strip("-.") or "app"
        return self.placement.format(context=context or "ROOT", filename=safe_name)

    def with_mirror(self, mirror: str | None) -> BuildEnvironment:
        """Return a copy whose Docker Hub base image is pulled through `mirror` instead."""
        return replace(self, base_image=rewrite_docker_hub_reference(self.base_image, mirror))

    def as_dict(self) -> dict[str, Any]:
        """Return the environment as JSON-able data (lists, not tuples)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildEnvironment:
        """Build an environment back from `as_dict` output (unknown keys are refused)."""
        values = dict(data)
        values["parameters"] = tuple(
            EnvironmentParameter(**parameter) for parameter in values.get("parameters", ())
        )
        for key in ("artifact_kinds", "architectures", "interpreters"):
            values[key] = tuple(values.get(key, ()))
        for key in ("entrypoint", "cmd"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


_KINDS = {"jar", "war", "binary"}
_PLACEHOLDERS = {"context", "filename"}
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _environment_problem(environment: BuildEnvironment) -> str | None:
    # Environments also come from the database (admin-edited): refuse what would fail later.
    if not environment.name or not environment.base_image:
        return "name and base_image are required"
    if not environment.artifact_kinds or not set(environment.artifact_kinds) <= _KINDS:
        return f"artifact_kinds must be a non-empty subset of {sorted(_KINDS)}"
    placement = environment.placement
    if not placement.startswith("/") or ".." in placement.split("/"):
        return "placement must be an absolute path without '..'"
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(placement) if name}
    except ValueError as error:
        return f"placement is not a valid template: {error}"
    if not fields <= _PLACEHOLDERS:
        return f"placement may only use {{context}} and {{filename}}, not {sorted(fields)}"
    if environment.port is not None and not 0 < environment.port < 65536:
        return "port must be between 1 and 65535"
    for command in (environment.entrypoint, environment.cmd):
        if command is not None and not all(isinstance(part, str) for part in command):
            return "entrypoint and cmd must be lists of strings"
    bad = [p.key for p in environment.parameters if not _ENV_KEY.match(p.key)]
    return f"parameter keys must be environment variable names: {bad}" if bad else None


def rewrite_docker_hub_reference(reference: str, mirror: str | None) -> str:
    """Return `reference` pulled through `mirror` when it lives on Docker Hub, else unchanged."""
    if not mirror:
        return reference
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if first not in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            return reference
        reference = rest
    if "/" not in reference:
        reference = "library/" + reference
    return mirror.rstrip("/") + "/" + reference


_JAVA_OPTIONS = EnvironmentParameter(
    "JAVA_TOOL_OPTIONS", "JVM options, read by the JVM itself (e.g. -Xmx512m)", ""
)
_CATALINA_OPTS = EnvironmentParameter("CATALINA_OPTS", "JVM options for Tomcat", "")
_KS_JAVA = (
    EnvironmentParameter("JAVA_OPTIONS", "JVM options passed by the run script", ""),
    EnvironmentParameter("JAVA_MAX_MEM_RATIO", "percentage of the container memory for heap", ""),
    EnvironmentParameter("JAVA_APP_JAR", "the JAR to run (default: the one in /deployments)", ""),
)


def _java(release: int) -> BuildEnvironment:
    return BuildEnvironment(
        name=f"java-{release}",
        title=f"Java {release} (Eclipse Temurin JRE)",
        base_image=f"eclipse-temurin:{release}-jre",
        artifact_kinds=("jar",),
        placement="/app/app.jar",
        entrypoint=("java", "-jar", "/app/app.jar"),
        cmd=(),
        workdir="/app",
        port=8080,
        parameters=(_JAVA_OPTIONS,),
        java_release=release,
        description=f"Runs the JAR with `java -jar` on the Temurin {release} JRE.",
    )


def _tomcat(tomcat: str, release: int) -> BuildEnvironment:
    major = tomcat.split(".")[0]
    return BuildEnvironment(
        name=f"tomcat-{major}-java-{release}",
        title=f"Tomcat {tomcat} on Java {release}",
        base_image=f"tomcat:{tomcat}-jre{release}",
        artifact_kinds=("war",),
        placement="/usr/local/tomcat/webapps/{context}.war",
        keep_base_command=True,
        workdir="/usr/local/tomcat",
        port=8080,
        parameters=(_CATALINA_OPTS, _JAVA_OPTIONS),
        java_release=release,
        servlet_namespace="javax" if major == "9" else "jakarta",
        description=f"Deploys the WAR into Tomcat {tomcat}'s webapps; served at /<context>/.",
    )


def _kubesphere_java(release: int) -> BuildEnvironment:
    return BuildEnvironment(
        name=f"kubesphere-java-{release}",
        title=f"KubeSphere Java {release} (CentOS 7)",
        base_image=f"kubesphere/java-{release}-centos7:v3.2.0",
        artifact_kinds=("jar",),
        placement="/deployments/{filename}",
        keep_base_command=True,
        port=8080,
        parameters=_KS_JAVA,
        java_release=release,
        architectures=("amd64",),
        allows_exploded=False,
        description="KubeSphere's builder image: its run script starts the JAR in /deployments.",
    )


def _kubesphere_tomcat(release: int) -> BuildEnvironment:
    return BuildEnvironment(
        name=f"kubesphere-tomcat85-java-{release}",
        title=f"KubeSphere Tomcat 8.5 on Java {release} (CentOS 7)",
        base_image=f"kubesphere/tomcat85-java{release}-centos7:v3.2.0",
        artifact_kinds=("war",),
        placement="/deployments/{context}.war",
        keep_base_command=True,
        port=8080,
        parameters=(_CATALINA_OPTS,),
        java_release=release,
        servlet_namespace="javax",
        architectures=("amd64",),
        allows_exploded=False,
        description="KubeSphere's builder image: links each WAR in /deployments into Tomcat.",
    )


_BINARY_ARGS = EnvironmentParameter("ARGS", "command-line arguments for the binary", "")

BUILTIN_ENVIRONMENTS: tuple[BuildEnvironment, ...] = (
    *(_java(release) for release in (8, 11, 17, 21, 25)),
    *(_tomcat("9.0", release) for release in (8, 11, 17, 21)),
    *(_tomcat("10.1", release) for release in (17, 21)),
    BuildEnvironment(
        name="binary-debian",
        title="Linux binary on Debian 12 (bookworm-slim)",
        base_image="debian:bookworm-slim",
        artifact_kinds=("binary",),
        placement="/app/app",
        entrypoint=("/app/app",),
        cmd=(),
        workdir="/app",
        interpreters=("/bin/sh", "/bin/bash", "/usr/bin/env", "/bin/dash", "/usr/bin/perl"),
        description="glibc, a shell and core utilities: for dynamic binaries and scripts.",
    ),
    BuildEnvironment(
        name="binary-distroless-static",
        title="Static Linux binary on distroless (static-debian12)",
        base_image="gcr.io/distroless/static-debian12",
        artifact_kinds=("binary",),
        placement="/app/app",
        entrypoint=("/app/app",),
        cmd=(),
        workdir="/app",
        user="65532",
        provides_libc=False,
        description="No libc and no shell: the smallest base, for statically linked programs.",
    ),
    _kubesphere_java(8),
    _kubesphere_java(11),
    _kubesphere_tomcat(8),
    _kubesphere_tomcat(11),
    BuildEnvironment(
        name="kubesphere-binary",
        title="KubeSphere binary (s2i-binary)",
        base_image="kubesphere/s2i-binary:v3.2.0",
        artifact_kinds=("binary",),
        placement="/opt/app-root/src/bin/binary",
        keep_base_command=True,
        parameters=(_BINARY_ARGS,),
        architectures=("amd64",),
        interpreters=("/bin/sh", "/bin/bash", "/usr/bin/env"),
        description="KubeSphere's builder image: runs /opt/app-root/src/bin/binary with $ARGS.",
    ),
)
ENVIRONMENTS_BY_NAME = {environment.name: environment for environment in BUILTIN_ENVIRONMENTS}


def get_environment(name: str) -> BuildEnvironment:
    """Return the built-in environment called `name`, or raise a user error listing the names."""
    try:
        return ENVIRONMENTS_BY_NAME[name]
    except KeyError:
        known = ", ".join(ENVIRONMENTS_BY_NAME)
        raise ArtifactError(
            ENVIRONMENT_MISMATCH, f"unknown build environment {name!r}; choose one of: {known}."
        ) from None


def _lowest_java_at_least(candidates: list[BuildEnvironment], release: int) -> BuildEnvironment:
    able = [env for env in candidates if (env.java_release or 0) >= release]
    if able:
        return min(able, key=lambda env: env.java_release or 0)
    return max(candidates, key=lambda env: env.java_release or 0)


def recommend_environment(inspection: Inspection) -> BuildEnvironment:
    """Return the built-in environment that best fits the inspected artifact."""
    if inspection.kind == "binary":
        binary = inspection.binary
        static = binary is not None and binary.linkage == "static"
        return ENVIRONMENTS_BY_NAME["binary-distroless-static" if static else "binary-debian"]
    release = inspection.java_release or 8
    if inspection.kind == "jar":
        family = [env for env in BUILTIN_ENVIRONMENTS if env.name.startswith("java-")]
        return _lowest_java_at_least(family, release)
    prefix = "tomcat-9-" if inspection.servlet_namespace in (None, "javax") else "tomcat-10-"
    tomcats = [env for env in BUILTIN_ENVIRONMENTS if env.name.startswith(prefix)]
    return _lowest_java_at_least(tomcats, release)


def check_environment_accepts(inspection: Inspection, environment: BuildEnvironment) -> None:
    """Raise a user error when the environment does not take this kind of artifact."""
    if inspection.kind not in environment.artifact_kinds:
        accepted = " or ".join(kind.upper() for kind in environment.artifact_kinds)
        raise ArtifactError(
            ENVIRONMENT_MISMATCH,
            f"the environment {environment.name} takes a {accepted}, and this file is a "
            f"{inspection.kind.upper()}; choose another environment.",
        )
    binary = inspection.binary
    if binary is not None and binary.linkage == "script" and not _runs_script(binary, environment):
        raise ArtifactError(
            ENVIRONMENT_MISMATCH,
            f"the script needs {binary.interpreter}, which {environment.name} does not provide; "
            "choose binary-debian or a base image that has it.",
        )


def _runs_script(binary: BinaryFacts, environment: BuildEnvironment) -> bool:
    # A base without libc has no interpreters at all; a custom base (no list) gets the benefit
    # of the doubt, with a warning.
    if not environment.provides_libc:
        return False
    return not environment.interpreters or binary.interpreter in environment.interpreters


def environment_warnings(
    inspection: Inspection, environment: BuildEnvironment, architecture: str = "amd64"
) -> list[str]:
    """Return what will likely go wrong running this artifact in this environment."""
    warnings = _java_warnings(inspection, environment)
    if inspection.binary is not None:
        warnings += _binary_warnings(inspection.binary, environment, architecture)
    if architecture not in environment.architectures:
        warnings.append(f"{environment.base_image} is not published for {architecture}.")
    return warnings


def _binary_warnings(
    binary: BinaryFacts, environment: BuildEnvironment, architecture: str
) -> list[str]:
    warnings: list[str] = []
    if binary.architecture and binary.architecture != architecture:
        warnings.append(
            f"the binary is built for {binary.architecture} but the image is for "
            f"{architecture}; it will fail with 'exec format error'."
        )
    if binary.linkage == "dynamic" and not environment.provides_libc:
        warnings.append(
            f"the binary is dynamically linked ({binary.interpreter}) but {environment.name} "
            "has no libc; link it statically or choose binary-debian."
        )
    if binary.linkage == "script" and binary.interpreter not in environment.interpreters:
        warnings.append(
            f"the script needs {binary.interpreter}, which {environment.name} does not provide."
        )
    return warnings


def _java_warnings(inspection: Inspection, environment: BuildEnvironment) -> list[str]:
    warnings: list[str] = []
    needed, runtime = inspection.java_release, environment.java_release
    if needed and runtime and needed > runtime:
        warnings.append(
            f"the classes are Java {needed} bytecode but {environment.name} runs Java "
            f"{runtime}; it will fail with UnsupportedClassVersionError."
        )
    namespace = inspection.servlet_namespace
    expected = environment.servlet_namespace
    if namespace and expected and namespace != expected:
        warnings.append(
            f"the WAR uses {namespace}.servlet but {environment.name} provides "
            f"{expected}.servlet; choose a Tomcat {'10+' if namespace == 'jakarta' else '9'} "
            "environment."
        )
    return warnings
