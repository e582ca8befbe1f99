"""Layer plans: how an inspected artifact is split into image layers (Jib-style for Java).

- Binary: one layer, the file at the environment's placement, mode 0755.
- Spring Boot JAR: exploded into the placement's directory; layers from BOOT-INF/layers.idx
  when present, else dependencies / spring-boot-loader / snapshot-dependencies / application.
  Run as `java -cp <dir> <Main-Class>`: the launcher, started from a directory, runs the
  exploded layout (as Spring Boot's JarLauncher does).
- Plain or shaded JAR: split in two JARs without inflating a member (b2i.packaging.jar_split):
  classes under the Main-Class's top-level package prefix (and root-level files) form the
  application JAR at the placement, with the manifest plus `Class-Path: lib/dependencies.jar`;
  everything else is copied into lib/dependencies.jar. The environment's own `java -jar` runs
  it. Measured on a 55 MB shaded JAR of 26,000 members: its layers are written in about half
  the time of the exploded layout (no inflate, tar header and deflate per member), a changed
  class re-pushes only the ~2 KiB application layer, and `java -jar` answers as soon as from
  the packaged JAR. A JAR with nothing outside the application goes in whole; a manifest the
  line cannot safely join, or a JAR needing zip64, is exploded as before (run as
  `java -cp <dir> <Main-Class>`). Multi-release and signed JARs, and manifests with attributes
  only `java -jar` honours (Class-Path, Add-Opens, Launcher-Agent-Class...), stay packaged.
- WAR: exploded into `<webapps>/<context>/` (what Tomcat would unpack it to); WEB-INF/lib/ is
  "dependencies", the rest "application". The container's own command is kept.
- Environments that run whatever file they find (KubeSphere's /deployments) get the packaged
  file, as does `exploded=False`.
Layers whose content does not change between builds come first, so a code change re-pushes
only the small last layer.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from b2i.oci.layers import LayerEntry, file_entry
from b2i.packaging.archives import SafeArchive
from b2i.packaging.environments import BuildEnvironment
from b2i.packaging.inspection import Inspection
from b2i.packaging.jar import MANIFEST, IndexedLayer, JarFacts, read_manifest
from b2i.packaging.jar_split import DEPENDENCIES_JAR, RepackedJar, split_jar

APPLICATION = "application"
DEPENDENCIES = "dependencies"
SNAPSHOT_DEPENDENCIES = "snapshot-dependencies"
LOADER = "spring-boot-loader"
# Manifest attributes that only `java -jar` applies; an exploded run would silently lose them.
JAR_ONLY_ATTRIBUTES = (
    "Class-Path",
    "Add-Opens",
    "Add-Exports",
    "Launcher-Agent-Class",
    "Enable-Native-Access",
    "SplashScreen-Image",
)


@dataclass(frozen=True)
class LayerPlan:
    """One layer to write, and the run settings the layout needs (same on every plan of a list)."""

    name: str
    entries: tuple[LayerEntry, ...] = field(repr=False)
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    workdir: str | None = None
    description: str = ""


def plan_layers(
    artifact_path: Path,
    inspection: Inspection,
    environment: BuildEnvironment,
    *,
    context: str | None = None,
    exploded: bool | None = None,
    artifact_sha256: Callable[[], str] | None = None,
) -> list[LayerPlan]:
    """Return the layers for this artifact in this environment, least-changing first.

    `exploded=None` explodes JARs/WARs when the environment allows it; False keeps them packaged.
    Zip-member entries read from an archive kept open by the returned plans.
    `artifact_sha256` gives the file's digest when the inspection left it to be computed
    meanwhile (asked only when the file goes in as one layer, by the layer cache).
    """
    digest = artifact_sha256 or (lambda: inspection.sha256)
    path = Path(artifact_path)
    context_path = inspection.context_path
    if context:
        # Imported here: a JAR build (no context) need not load the WAR module at start-up.
        from b2i.packaging.war import check_context

        context_path = check_context(context)
    target = environment.target_path(
        context=context_path,
        filename=inspection.filename or path.name,
    )
    if inspection.kind == "binary":
        return [_single(path, target, inspection, digest, executable=True)]
    explode = environment.allows_exploded if exploded is None else exploded
    if not explode:
        return [_single(path, target, inspection, digest, executable=False)]
    archive = SafeArchive(path)
    if inspection.kind == "war":
        return _plan_war(archive, _exploded_war_dir(target))
    assert inspection.jar is not None
    if _needs_java_jar(archive, inspection.jar):
        archive.close()
        return [_single(path, target, inspection, digest, executable=False)]
    if not inspection.jar.spring_boot:
        split = _plan_split_jar(archive, inspection.jar, target)
        if split == []:
            archive.close()  # nothing to split off: the JAR itself is the application layer
            return [_single(path, target, inspection, digest, executable=False)]
        if split is not None:
            return split
    return _plan_exploded_jar(archive, inspection.jar, str(PurePosixPath(target).parent))


def run_settings(
    plans: Iterable[LayerPlan],
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None, str | None]:
    """Return the (entrypoint, cmd, workdir) overrides of a plan list; None = keep the env's."""
    for plan in plans:
        return plan.entrypoint, plan.cmd, plan.workdir
    return None, None, None


def planned_archive(plans: Iterable[LayerPlan]) -> SafeArchive | None:
    """Return the archive the plans' zip members are read from (None: no exploded archive)."""
    for plan in plans:
        for entry in plan.entries:
            if isinstance(entry.source, ZipMember | RepackedJar):
                return entry.source.archive
    return None


def _single(
    path: Path,
    target: str,
    inspection: Inspection,
    digest: Callable[[], str],
    *,
    executable: bool,
) -> LayerPlan:
    # The file's digest is computed once (by the inspection or beside it), not by the cache.
    entry = file_entry(target, path, executable=executable, content_id=digest)
    kind = inspection.kind
    what = "binary" if kind == "binary" else f"packaged {kind.upper()}"
    return LayerPlan(APPLICATION, (entry,), description=f"{what} at {target}")


def _exploded_war_dir(target: str) -> str:
    return target[: -len(".war")] if target.endswith(".war") else target


def _needs_java_jar(archive: SafeArchive, jar: JarFacts) -> bool:
    if jar.multi_release or jar.signed:
        return True
    manifest = read_manifest(archive)
    return any(manifest.get(attribute) for attribute in JAR_ONLY_ATTRIBUTES)


def _members_by_layer(
    archive: SafeArchive, root: str, layer_names: list[str], choose: Callable[[str], str]
) -> list[LayerPlan]:
    grouped: dict[str, list[LayerEntry]] = {name: [] for name in layer_names}
    # Duplicate names: the last one wins, as zipfile's getinfo (and the inspection) sees it.
    latest = {info.filename: info for info in archive.infos}
    for info in latest.values():
        name = choose(info.filename)
        grouped.setdefault(name, []).append(_member(archive, root, info))
    return [LayerPlan(name, tuple(entries)) for name, entries in grouped.items() if entries]


def _member(archive: SafeArchive, root: str, info: zipfile.ZipInfo) -> LayerEntry:
    path = f"{root.rstrip('/')}/{info.filename}"
    if info.is_dir():
        return LayerEntry(path=path, kind="dir")
    return LayerEntry(path=path, kind="file", size=info.file_size, source=ZipMember(archive, info))


class ZipMember:
    """A zip member as a layer entry's source: its bytes, raw-bytes identity and CRC hint."""

    __slots__ = ("archive", "info")

    def __init__(self, archive: SafeArchive, info: zipfile.ZipInfo) -> None:
        self.archive = archive
        self.info = info

    def open(self) -> IO[bytes]:
        return self.archive.open_member(self.info)

    def read_whole(self) -> bytes:
        if self.archive.is_small_member(self.info):
            return self.archive.read_small_member(self.info)  # inflated in one call
        with self.open() as stream:
            return stream.read()

    def identity(self) -> str:
        return self.archive.member_content_id(self.info)

    def hint(self) -> str:
        info = self.info
        return f"zip-crc32:{info.compress_type}:{info.CRC}:{info.file_size}:{info.compress_size}"


def _plan_war(archive: SafeArchive, root: str) -> list[LayerPlan]:
    def choose(name: str) -> str:
        return DEPENDENCIES if name.startswith("WEB-INF/lib/") else APPLICATION

    plans = _members_by_layer(archive, root, [DEPENDENCIES, APPLICATION], choose)
    return [_described(plan, f"exploded WAR in {root}/") for plan in plans]


def _plan_exploded_jar(archive: SafeArchive, jar: JarFacts, root: str) -> list[LayerPlan]:
    if jar.spring_boot:
        names, choose = _spring_boot_rules(jar)
    else:
        names, choose = [DEPENDENCIES, APPLICATION], _plain_jar_rule(jar.main_class or "")
    plans = _members_by_layer(archive, root, names, choose)
    entrypoint = ("java", "-cp", root, jar.main_class or "")
    return [
        LayerPlan(
            plan.name,
            plan.entries,
            entrypoint=entrypoint,
            cmd=(),
            workdir=root,
            description=f"exploded JAR in {root}/ ({plan.name})",
        )
        for plan in plans
    ]


def _split_members(
    archive: SafeArchive, jar: JarFacts
) -> tuple[list[zipfile.ZipInfo], list[zipfile.ZipInfo]]:
    """Return a plain JAR's (application, dependencies) members, the manifest left out."""
    choose = _plain_jar_rule(jar.main_class or "")
    application: list[zipfile.ZipInfo] = []
    dependencies: list[zipfile.ZipInfo] = []
    # Duplicate names: the last one wins, as zipfile's getinfo (and the inspection) sees it.
    for name, info in {info.filename: info for info in archive.infos}.items():
        if name != MANIFEST:
            (application if choose(name) == APPLICATION else dependencies).append(info)
    return application, dependencies


def _plan_split_jar(archive: SafeArchive, jar: JarFacts, target: str) -> list[LayerPlan] | None:
    """Plan a plain JAR as two JARs (b2i.packaging.jar_split).

    [] when it has no dependency files (it goes in whole); None to explode it instead."""
    application, dependencies = _split_members(archive, jar)
    if not any(not info.is_dir() for info in dependencies):
        return []
    jars = split_jar(archive, application, dependencies)
    if jars is None:
        return None
    app, deps = jars
    library = f"{PurePosixPath(target).parent}/{DEPENDENCIES_JAR}"
    return [
        LayerPlan(
            DEPENDENCIES,
            (LayerEntry(path=library, kind="file", size=deps.size, source=deps),),
            description=f"split JAR at {library} (dependencies)",
        ),
        LayerPlan(
            APPLICATION,
            (LayerEntry(path=target, kind="file", size=app.size, source=app),),
            description=f"split JAR at {target}, Class-Path {DEPENDENCIES_JAR} (application)",
        ),
    ]


def _described(plan: LayerPlan, text: str) -> LayerPlan:
    return LayerPlan(plan.name, plan.entries, description=f"{text} ({plan.name})")


def _spring_boot_rules(jar: JarFacts) -> tuple[list[str], Callable[[str], str]]:
    if jar.layers_index:
        index = jar.layers_index
        return [layer.name for layer in index], lambda name: _indexed_layer(index, name)
    lib = jar.spring_boot_lib

    def choose(name: str) -> str:
        if name.startswith(lib) and name.endswith(".jar"):
            return SNAPSHOT_DEPENDENCIES if "SNAPSHOT" in name else DEPENDENCIES
        if not name.startswith(("BOOT-INF/", "META-INF/")):
            return LOADER
        return APPLICATION

    return [DEPENDENCIES, LOADER, SNAPSHOT_DEPENDENCIES, APPLICATION], choose


def _indexed_layer(index: tuple[IndexedLayer, ...], name: str) -> str:
    # Spring Boot's rule: the first layer listing the path itself or a directory prefix of it.
    for layer in index:
        for listed in layer.paths:
            if name == listed or (listed.endswith("/") and name.startswith(listed)):
                return layer.name
            if name + "/" == listed:  # the directory entry of a listed prefix
                return layer.name
    return index[-1].name


def _plain_jar_rule(main_class: str) -> Callable[[str], str]:
    packages = main_class.split(".")[:-1]
    prefix = "/".join(packages[:2]) + "/" if packages else ""

    def choose(name: str) -> str:
        if name == MANIFEST or "/" not in name.rstrip("/"):
            return APPLICATION
        if prefix and name.startswith(prefix):
            return APPLICATION
        return DEPENDENCIES

    return choose
