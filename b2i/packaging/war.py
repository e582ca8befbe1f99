"""WAR facts read from the bytes: servlet API namespace, class-file version, context path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from b2i.packaging.archives import SafeArchive
from b2i.packaging.errors import BAD_CONTEXT_PATH, ArtifactError
from b2i.packaging.jar import highest_class_major, java_release_for_major

WEB_INF = "WEB-INF/"
WEB_INF_CLASSES = "WEB-INF/classes/"
WEB_INF_LIB = "WEB-INF/lib/"
WEB_XML = "WEB-INF/web.xml"
ROOT_CONTEXT = "ROOT"
Namespace = Literal["javax", "jakarta"]
# Tomcat maps "#" in a WAR name to "/" in the context path; anything else outside this set
# would need escaping in URLs and file names.
_CONTEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._#-]{0,127}$")
_CLASS_SCAN_LIMIT = 2000
_CLASS_READ_LIMIT = 256 * 1024
_SCAN_BUDGET = 32 * 1024 * 1024


@dataclass(frozen=True)
class WarFacts:
    """What a WAR contains, as far as choosing a servlet container and placing it goes."""

    servlet_namespace: Namespace | None
    mixed_namespaces: bool
    class_major: int | None
    context_path: str
    has_web_xml: bool
    library_count: int
    warnings: tuple[str, ...]

    @property
    def java_release(self) -> int | None:
        """Return the Java release the bytecode needs (class major 52 -> 8, 61 -> 17)."""
        return java_release_for_major(self.class_major)

    @property
    def url_path(self) -> str:
        """Return the URL path the container serves the application at ("/" for ROOT)."""
        if self.context_path == ROOT_CONTEXT:
            return "/"
        return "/" + self.context_path.replace("#", "/") + "/"


def context_from_filename(filename: str | None) -> str:
    """Return the context (the WAR's base name, as KubeSphere and Tomcat do); ROOT if unknown."""
    if not filename:
        return ROOT_CONTEXT
    name = PurePath(filename.replace("\\", "/")).name
    base = name[: -len(".war")] if name.lower().endswith(".war") else name
    cleaned = re.sub(r"[^A-Za-z0-9._#-]+", "-", base).strip("-.")
    return cleaned or ROOT_CONTEXT


def check_context(context: str) -> str:
    """Return `context` when it is a valid Tomcat context name, else raise a user error."""
    if not _CONTEXT.match(context) or ".." in context:
        raise ArtifactError(
            BAD_CONTEXT_PATH,
            f"{context!r} is not a usable context path: use letters, digits, '.', '_', '-' "
            "(at most 128), or ROOT to serve the application at /.",
        )
    return context


def detect_servlet_namespace(archive: SafeArchive) -> tuple[Namespace | None, bool]:
    """Return the servlet API namespace the classes and web.xml use, and whether both appear."""
    found: set[str] = set()
    budget = _SCAN_BUDGET  # bounds the work on a WAR with huge or countless classes
    for info in list(archive.iter_files(WEB_INF_CLASSES))[:_CLASS_SCAN_LIMIT]:
        if not info.filename.endswith(".class") or info.file_size > min(budget, _CLASS_READ_LIMIT):
            continue
        budget -= info.file_size
        found |= _namespaces_in(archive.read(info.filename, _CLASS_READ_LIMIT))
        if found == {"javax", "jakarta"}:
            break
    if archive.has(WEB_XML):
        found |= _namespaces_in_web_xml(archive.read(WEB_XML, 4 * 1024 * 1024))
    if "jakarta" in found:
        return "jakarta", "javax" in found
    return ("javax" if "javax" in found else None), False


def _namespaces_in(class_bytes: bytes) -> set[str]:
    names: set[str] = set()
    if b"javax/servlet/" in class_bytes:
        names.add("javax")
    if b"jakarta/servlet/" in class_bytes:
        names.add("jakarta")
    return names


def _namespaces_in_web_xml(xml: bytes) -> set[str]:
    if b"jakarta.ee/xml/ns/jakartaee" in xml:
        return {"jakarta"}
    if b"xmlns.jcp.org/xml/ns/javaee" in xml or b"java.sun.com/xml/ns" in xml:
        return {"javax"}
    return set()


def analyse_war(archive: SafeArchive, filename: str | None, context: str | None = None) -> WarFacts:
    """Return the facts of a WAR; the context defaults to the file's base name."""
    namespace, mixed = detect_servlet_namespace(archive)
    chosen = check_context(context if context else context_from_filename(filename))
    warnings: list[str] = []
    if mixed:
        warnings.append(
            "the WAR uses both javax.servlet and jakarta.servlet classes; it will fail on one "
            "of the two Tomcat generations."
        )
    return WarFacts(
        servlet_namespace=namespace,
        mixed_namespaces=mixed,
        class_major=highest_class_major(archive, WEB_INF_CLASSES),
        context_path=chosen,
        has_web_xml=archive.has(WEB_XML),
        library_count=sum(1 for info in archive.iter_files(WEB_INF_LIB) if _is_jar(info.filename)),
        warnings=tuple(warnings),
    )


def _is_jar(name: str) -> bool:
    return name.endswith(".jar") and "/" not in name[len(WEB_INF_LIB) :]
