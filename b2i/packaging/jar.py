"""JAR facts read from the bytes: manifest, Spring Boot layout, class-file version, signing."""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass

from b2i.packaging.archives import SafeArchive
from b2i.packaging.errors import NOT_EXECUTABLE_JAR, ArtifactError

MANIFEST = "META-INF/MANIFEST.MF"
BOOT_CLASSES = "BOOT-INF/classes/"
BOOT_LIB = "BOOT-INF/lib/"
BOOT_LAYERS_INDEX = "BOOT-INF/layers.idx"
_CLASS_MAGIC = b"\xca\xfe\xba\xbe"
_SIGNATURE_FILE = re.compile(r"^META-INF/[^/]+\.(SF|RSA|DSA|EC)$", re.IGNORECASE)
_VERSIONED = "META-INF/versions/"
_INDEX_LAYER = re.compile(r'^- "(?P<name>[^"]+)":\s*$')
_INDEX_PATH = re.compile(r'^\s+- "(?P<path>[^"]+)"\s*$')


@dataclass(frozen=True)
class IndexedLayer:
    """One layer of a Spring Boot `layers.idx`: its name and the paths (or dir/ prefixes) in it."""

    name: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class JarFacts:
    """What a JAR declares and contains, as far as building and running it is concerned."""

    main_class: str | None
    start_class: str | None
    class_path: tuple[str, ...]
    build_jdk_spec: str | None
    spring_boot: bool
    spring_boot_classes: str
    spring_boot_lib: str
    layers_index: tuple[IndexedLayer, ...]
    multi_release: bool
    signed: bool
    class_major: int | None
    warnings: tuple[str, ...]
    # False: the class-file scan was left for later (see inspection.complete_class_scan).
    classes_scanned: bool = True

    @property
    def java_release(self) -> int | None:
        """Return the Java release the bytecode needs (class major 52 -> 8, 61 -> 17)."""
        return java_release_for_major(self.class_major)


def java_release_for_major(major: int | None) -> int | None:
    """Return the Java release of a class-file major version (44 + release), None if unknown."""
    return None if major is None else major - 44


def parse_manifest(text: str) -> dict[str, str]:
    """Return the main-section attributes of a JAR manifest (continuation lines joined)."""
    attributes: dict[str, str] = {}
    last_key: str | None = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line:
            break  # the main section ends at the first blank line
        if line.startswith(" ") and last_key is not None:
            attributes[last_key] += line[1:]
            continue
        key, separator, value = line.partition(":")
        if separator:
            last_key = key.strip()
            attributes[last_key] = value.strip()
    return attributes


def parse_layers_index(text: str) -> tuple[IndexedLayer, ...]:
    """Parse a Spring Boot `layers.idx` (a tiny YAML subset) into ordered layers."""
    layers: list[IndexedLayer] = []
    for line in text.splitlines():
        layer = _INDEX_LAYER.match(line)
        path = _INDEX_PATH.match(line)
        if layer:
            layers.append(IndexedLayer(layer["name"], ()))
        elif path and layers:
            last = layers[-1]
            layers[-1] = IndexedLayer(last.name, (*last.paths, path["path"]))
    return tuple(layers)


def highest_class_major(archive: SafeArchive, prefix: str = "") -> int | None:
    """Return the highest class-file major version under `prefix` (versioned classes excluded)."""
    highest: int | None = None
    known = archive.class_majors  # classes a layer writer already read whole
    for info in archive.iter_files(prefix):
        if not _counts_for_java_version(info):
            continue
        major = known.get(info.header_offset)
        if major is None:
            header = archive.read_prefix(info, 8)
            if len(header) < 8 or header[:4] != _CLASS_MAGIC:
                continue
            major = int.from_bytes(header[6:8], "big")
        highest = major if highest is None else max(highest, major)
    return highest


def _counts_for_java_version(info: zipfile.ZipInfo) -> bool:
    # Multi-release classes run only on newer runtimes and module-info is often compiled for
    # Java 9+ inside Java 8 libraries: neither raises the runtime a JAR needs.
    name = info.filename
    return (
        name.endswith(".class")
        and not name.endswith("module-info.class")
        and not name.startswith(_VERSIONED)
        and _VERSIONED not in name
    )


def read_manifest(archive: SafeArchive) -> dict[str, str]:
    """Return the JAR's manifest attributes, or an empty mapping when it has none."""
    if not archive.has(MANIFEST):
        return {}
    return parse_manifest(archive.read(MANIFEST, 1024 * 1024).decode("utf-8", "replace"))


def analyse_jar(archive: SafeArchive, *, scan_classes: bool = True) -> JarFacts:
    """Return the facts of an executable JAR; refuse one that `java -jar` cannot start.

    `scan_classes=False` leaves `class_major` unknown: a build that writes the classes into
    layers learns their versions from those reads, instead of inflating each class twice.
    """
    manifest = read_manifest(archive)
    main_class = manifest.get("Main-Class") or None
    classes_dir = manifest.get("Spring-Boot-Classes", BOOT_CLASSES)
    lib_dir = manifest.get("Spring-Boot-Lib", BOOT_LIB)
    spring_boot = archive.has_prefix(classes_dir) and classes_dir.startswith("BOOT-INF/")
    _require_main_class(archive, main_class, spring_boot)
    layers_index: tuple[IndexedLayer, ...] = ()
    index_name = manifest.get("Spring-Boot-Layers-Index", BOOT_LAYERS_INDEX)
    if spring_boot and archive.has(index_name):
        layers_index = parse_layers_index(archive.read(index_name, 1024 * 1024).decode())
    start_class = manifest.get("Start-Class") or None
    return JarFacts(
        main_class=main_class,
        start_class=start_class,
        class_path=tuple(manifest.get("Class-Path", "").split()),
        build_jdk_spec=manifest.get("Build-Jdk-Spec") or None,
        spring_boot=spring_boot,
        spring_boot_classes=classes_dir,
        spring_boot_lib=lib_dir,
        layers_index=layers_index,
        multi_release=manifest.get("Multi-Release", "").lower() == "true",
        signed=any(_SIGNATURE_FILE.match(name) for name in archive.names),
        class_major=highest_class_major(archive) if scan_classes else None,
        warnings=tuple(_jar_warnings(archive, manifest, spring_boot, start_class)),
        classes_scanned=scan_classes,
    )


def _require_main_class(archive: SafeArchive, main_class: str | None, spring_boot: bool) -> None:
    if main_class is None:
        layout = " (it has a Spring Boot layout but no launcher)" if spring_boot else ""
        raise ArtifactError(
            NOT_EXECUTABLE_JAR,
            f"not an executable JAR: META-INF/MANIFEST.MF has no Main-Class{layout}. Build it "
            "as a runnable JAR (e.g. spring-boot-maven-plugin or maven-jar-plugin's mainClass).",
        )
    if not archive.has(class_entry_name(main_class)) and not read_manifest(archive).get(
        "Class-Path"
    ):
        raise ArtifactError(
            NOT_EXECUTABLE_JAR,
            f"not an executable JAR: its Main-Class {main_class} is not inside the JAR.",
        )


def class_entry_name(class_name: str) -> str:
    """Return the zip entry name of a fully-qualified class name (a.b.C -> a/b/C.class)."""
    return class_name.replace(".", "/") + ".class"


def _jar_warnings(
    archive: SafeArchive, manifest: dict[str, str], spring_boot: bool, start_class: str | None
) -> list[str]:
    warnings: list[str] = []
    if manifest.get("Class-Path"):
        warnings.append(
            f"the manifest's Class-Path ({manifest['Class-Path']}) names files outside the JAR; "
            "they will not be in the image unless the base provides them."
        )
    if spring_boot and start_class:
        expected = manifest.get("Spring-Boot-Classes", BOOT_CLASSES) + class_entry_name(start_class)
        if not archive.has(expected):
            warnings.append(f"Start-Class {start_class} is not under BOOT-INF/classes/.")
    if archive.duplicates:
        warnings.append(f"the archive has {archive.duplicates} duplicate entries; the last wins.")
    return warnings
