"""Artifact inspection: what a file is, judged from its bytes (never its name), and where it fits.

`inspect_artifact` is the single entry point: it detects JAR / WAR / Linux binary, reads the
facts that matter for building and running it, refuses unsafe or unusable files with an
`ArtifactError` (stable code, actionable message) and recommends a built-in environment.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from b2i.packaging.archives import (
    DEFAULT_LIMITS,
    SafeArchive,
    ZipLimits,
    is_prefixed_zip,
    is_zip,
)
from b2i.packaging.environments import environment_warnings, recommend_environment
from b2i.packaging.errors import (
    EMPTY_FILE,
    KIND_MISMATCH,
    NOT_A_LINUX_BINARY,
    NOT_AN_ARCHIVE,
    UNKNOWN_KIND,
    ArtifactError,
)
from b2i.packaging.jar import JarFacts, analyse_jar, highest_class_major

if TYPE_CHECKING:
    from b2i.packaging.binary import BinaryFacts
    from b2i.packaging.war import WarFacts

ArtifactKind = Literal["jar", "war", "binary"]
ARTIFACT_KINDS: tuple[ArtifactKind, ...] = ("jar", "war", "binary")
HASH_CHUNK = 8 * 1024 * 1024  # big reads: few GIL hand-overs for a hashing thread
_KIND_NAMES = {"jar": "a JAR", "war": "a WAR", "binary": "a Linux binary"}
# An archive with a WEB-INF/ directory is a web application (b2i.packaging.war.WEB_INF,
# repeated here so that telling a JAR from a WAR does not import the WAR module).
WAR_MARKER = "WEB-INF/"


@dataclass(frozen=True)
class Inspection:
    """The result of inspecting one artifact file."""

    kind: ArtifactKind
    size: int
    sha256: str
    filename: str | None = None
    jar: JarFacts | None = None
    war: WarFacts | None = None
    binary: BinaryFacts | None = None
    recommended_environment: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def java_release(self) -> int | None:
        """Return the Java release the bytecode needs, None for binaries or class-less WARs."""
        facts = self.jar or self.war
        return facts.java_release if facts is not None else None

    @property
    def servlet_namespace(self) -> str | None:
        """Return "javax" or "jakarta" for a WAR whose classes show it, else None."""
        return self.war.servlet_namespace if self.war is not None else None

    @property
    def context_path(self) -> str | None:
        """Return a WAR's context name (file base name by default, "ROOT" for /)."""
        return self.war.context_path if self.war is not None else None

    def summary(self) -> str:
        """Return a one-line human description, e.g. "Spring Boot JAR · Java 17 bytecode"."""
        if self.binary is not None:
            text = self.binary.describe()
            return text[0].upper() + text[1:]
        bytecode = f"Java {self.java_release} bytecode" if self.java_release else "no classes"
        if self.jar is not None and not self.jar.classes_scanned:
            bytecode = "class versions not read yet"
        if self.jar is not None:
            parts = ["Spring Boot JAR" if self.jar.spring_boot else "Executable JAR", bytecode]
            parts += ["multi-release"] if self.jar.multi_release else []
            parts += ["signed"] if self.jar.signed else []
            return " · ".join(parts)
        assert self.war is not None
        namespace = f"{self.war.servlet_namespace}.servlet" if self.war.servlet_namespace else None
        parts = ["WAR", *([namespace] if namespace else []), bytecode]
        return " · ".join([*parts, f"served at {self.war.url_path}"])

    def as_dict(self) -> dict[str, Any]:
        """Return the inspection as JSON-able data, with the summary and derived facts."""
        data = asdict(self)
        data.update(
            summary=self.summary(),
            java_release=self.java_release,
            servlet_namespace=self.servlet_namespace,
            context_path=self.context_path,
        )
        return data


def inspect_artifact(
    path: Path,
    expected_kind: str | None = None,
    filename: str | None = None,
    *,
    context: str | None = None,
    limits: ZipLimits = DEFAULT_LIMITS,
    scan_classes: bool = True,
    hash_file: bool = True,
) -> Inspection:
    """Inspect an artifact from its bytes; raise ArtifactError when it cannot be built.

    `scan_classes=False`: a JAR's class-file versions are left unknown (`complete_class_scan`
    adds them later, e.g. from the reads of a layer writer). `hash_file=False` leaves
    `sha256` empty for a caller that hashes the file alongside.
    """
    path = Path(path)
    if expected_kind is not None and expected_kind not in ARTIFACT_KINDS:
        raise ValueError(f"expected_kind must be one of {ARTIFACT_KINDS}, not {expected_kind!r}")
    size = path.stat().st_size
    if size == 0:
        raise ArtifactError(EMPTY_FILE, "the file is empty; upload the artifact again.")
    with path.open("rb") as handle:
        head = handle.read(64)
    # Hashing (C, without the GIL) overlaps the central directory checks (Python); its big
    # reads keep the GIL hand-overs, and so the waits for them, few.
    options = _Options(expected_kind, filename, context, limits, scan_classes)
    if not hash_file:
        return _finish(_inspect_kind(path, head, options), path, size, filename)
    with ThreadPoolExecutor(max_workers=1) as pool:
        sha256 = pool.submit(file_sha256, path, HASH_CHUNK)
        inspection = _inspect_kind(path, head, options)
        return _finish(replace(inspection, sha256=sha256.result()), path, size, filename)


@dataclass(frozen=True)
class _Options:
    expected_kind: str | None
    filename: str | None
    context: str | None
    limits: ZipLimits
    scan_classes: bool


# The kind-specific modules are imported by the kind that needs them: a JAR build (the CLI's
# usual case) then never loads the WAR and binary modules (~2 ms of a `b2i` process start).
def _inspect_kind(path: Path, head: bytes, options: _Options) -> Inspection:
    if is_zip(path):
        return _inspect_archive(path, options)
    # Imported by the kind that needs it (start-up speed, see the note above).
    from b2i.packaging import binary

    # A script followed by a zip is an executable jar/war (Spring Boot's launch script): java
    # reads the zip from its end, so it is judged as the archive, not as a script.
    if binary.looks_like_script(head) and is_prefixed_zip(path):
        return _inspect_archive(path, options)
    if binary.looks_like_elf(head) or binary.looks_like_script(head):
        _require_kind("binary", options.expected_kind)
        return Inspection(kind="binary", size=0, sha256="", binary=binary.analyse_binary(path))
    raise _unrecognised(head, options.expected_kind)


def _inspect_archive(path: Path, options: _Options) -> Inspection:
    with SafeArchive(path, options.limits) as archive:
        if archive.has_prefix(WAR_MARKER):
            # Imported by the kind that needs it (start-up speed, see the note above).
            from b2i.packaging.war import analyse_war

            _require_kind("war", options.expected_kind)
            war = analyse_war(archive, options.filename or path.name, options.context)
            return Inspection(kind="war", size=0, sha256="", war=war)
        _require_kind("jar", options.expected_kind)
        jar = analyse_jar(archive, scan_classes=options.scan_classes)
        return Inspection(kind="jar", size=0, sha256="", jar=jar)


def _require_kind(detected: ArtifactKind, expected: str | None) -> None:
    if expected is None or expected == detected:
        return
    raise ArtifactError(
        KIND_MISMATCH,
        f"this file is {_KIND_NAMES[detected]}, not {_KIND_NAMES[expected]}; choose the "
        f"{detected.upper() if detected != 'binary' else 'Binary'} artifact type instead.",
    )


def _unrecognised(head: bytes, expected: str | None) -> ArtifactError:
    looks = "it looks like a text file" if _is_text(head) else "its content is not recognised"
    if expected in ("jar", "war"):
        return ArtifactError(
            NOT_AN_ARCHIVE,
            f"this file is not {_KIND_NAMES[expected]}: it is not a zip archive ({looks}).",
        )
    if expected == "binary":
        return ArtifactError(
            NOT_A_LINUX_BINARY,
            f"not a Linux executable: no ELF header and no #! line ({looks}).",
        )
    return ArtifactError(
        UNKNOWN_KIND, f"the file is not a JAR, a WAR or a Linux executable ({looks})."
    )


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\0" not in head


def complete_class_scan(inspection: Inspection, archive: SafeArchive) -> Inspection:
    """Return the inspection with a JAR's class-file version, when it was left unscanned.

    `archive` should be the one a layer writer read the classes from: their versions were
    noted then, so only classes it did not read (e.g. layers taken from a cache) are read now.
    """
    jar = inspection.jar
    if jar is None or jar.classes_scanned:
        return inspection
    jar = replace(jar, class_major=highest_class_major(archive), classes_scanned=True)
    return _recommend(replace(inspection, jar=jar, warnings=()))


def _finish(inspection: Inspection, path: Path, size: int, filename: str | None) -> Inspection:
    return _recommend(replace(inspection, size=size, filename=filename or path.name))


def _recommend(inspection: Inspection) -> Inspection:
    environment = recommend_environment(inspection)
    facts = inspection.jar or inspection.war
    own = facts.warnings if facts is not None else ()
    warnings = (*own, *environment_warnings(inspection, environment))
    return replace(inspection, recommended_environment=environment.name, warnings=warnings)


def file_sha256(path: Path, chunk_size: int = 1024 * 1024) -> str:
    """Return "sha256:<hex>" of a file, read in chunks of `chunk_size` bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
