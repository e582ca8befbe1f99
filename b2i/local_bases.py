"""Local base images made from this machine's installed Debian packages, with no network.

`make run` pushes them to its local registry so JARs and WARs build on a machine that cannot
reach Docker Hub (air-gapped installations): a JRE 17 base, and a Tomcat 10 base laid out like
the official `tomcat` image (`/usr/local/tomcat/{bin,lib,conf,webapps}`) on top of it.

The files come from the packages `scripts/bootstrap.sh run` installs with apt (openjdk-17-jre-
headless, tomcat10-common, tomcat10-user for its configuration skeleton, and tomcat-jakartaee-
migration): the dependency closure of those packages, as dpkg lists it, is copied from the host
into the layers. Nothing runs as a service on the host and nothing is downloaded here.

Tomcat 10.1 migrates javax WARs to Jakarta EE itself when they are dropped into its
`legacyAppBase` (default `webapps-javaee`) and the Jakarta EE migration tool is on its class
path: Debian packages that tool, and the Tomcat base links it into Tomcat's lib/.

The layers are cached under a key of the package versions, so only the first run pays for them.
No Django here.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import io
import json
import os
import platform
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from b2i.oci.image import OCI_CONFIG, OCI_MANIFEST
from b2i.oci.layers import (
    LayerBlob,
    LayerEntry,
    bytes_entry,
    directory_entry,
    file_entry,
    symlink_entry,
    write_layer,
)
from b2i.oci.registry import RegistryClient

RECIPE = "debian-host-packages-v1"
CATALINA_HOME = "/usr/local/tomcat"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FIXED_TIME = "1970-01-01T00:00:01Z"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64"}
# A shell and the tools catalina.sh calls (dirname, uname, tr, sed, grep ...), plus the JRE.
JRE_PACKAGES = ("openjdk-17-jre-headless", "base-files", "dash", "coreutils", "sed", "grep")
TOMCAT_PACKAGES = ("tomcat10-common", "libtomcat10-java", "tomcat-jakartaee-migration")
TOMCAT_SKELETON = Path("/usr/share/tomcat10/skel/conf")
MIGRATION_JARS = "/usr/share/tomcat-jakartaee-migration/lib/jakartaee-migration-*.jar"
# Documentation and translations are a third of the bytes and nothing a server reads.
SKIPPED_PREFIXES = (
    "/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/lintian/",
    "/usr/share/locale/", "/usr/share/bug/", "/usr/share/maven-repo/", "/lib/systemd/",
    "/usr/lib/systemd/",
)  # fmt: skip
MERGED_USR = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnogroup:x:65534:\n"


class LocalBaseError(Exception):
    """A package the bases need is missing or unusable; the message says what to install."""


@dataclass(frozen=True)
class Package:
    """An installed Debian package: name, version and what it depends on / provides."""

    name: str
    binary: str
    version: str
    provides: tuple[str, ...]
    depends: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class LocalBase:
    """A base image pushed to the registry: where it is and its manifest digest."""

    repository: str
    tag: str
    digest: str


# --- the packages ----------------------------------------------------------------------------


def _names(field: str) -> list[tuple[str, ...]]:
    groups = []
    for group in filter(None, (part.strip() for part in field.split(","))):
        alternatives = (re.sub(r"[\s(:].*", "", choice.strip()) for choice in group.split("|"))
        groups.append(tuple(name for name in alternatives if name))
    return groups


def installed_packages() -> dict[str, Package]:
    """Return the packages dpkg says are installed, by name (the native architecture first)."""
    fields = "${Package}\t${binary:Package}\t${Version}\t${db:Status-Abbrev}\t${Provides}\t"
    fields += "${Pre-Depends}, ${Depends}\n"
    listing = subprocess.run(
        ["dpkg-query", "-W", "-f", fields], capture_output=True, text=True, check=True
    ).stdout
    native = _architecture()
    found: dict[str, Package] = {}
    for line in listing.splitlines():
        name, binary, version, status, provides, depends = line.split("\t")
        if not status.startswith("ii"):
            continue
        package = Package(
            name, binary, version, tuple(p[0] for p in _names(provides)), tuple(_names(depends))
        )
        if name not in found or binary.endswith(f":{native}"):
            found[name] = package
    return found


def package_closure(roots: Iterable[str], installed: dict[str, Package]) -> list[Package]:
    """Return ROOTS and everything they depend on, choosing installed alternatives."""
    providers: dict[str, str] = {}
    for package in installed.values():
        for virtual in package.provides:
            providers.setdefault(virtual, package.name)
    wanted, seen = list(roots), set[str]()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        if name not in installed:
            raise LocalBaseError(f"the package {name} is not installed: run scripts/bootstrap.sh")
        seen.add(name)
        for group in installed[name].depends:
            choice = next((alt for alt in group if alt in installed), None)
            choice = choice or next((providers[alt] for alt in group if alt in providers), None)
            if choice is None:
                raise LocalBaseError(f"{name} needs {' | '.join(group)}, which is not installed")
            wanted.append(choice)
    return sorted((installed[name] for name in seen), key=lambda package: package.name)


def package_paths(packages: Sequence[Package]) -> list[str]:
    """Return the paths dpkg installed for PACKAGES, documentation and unit files left out."""
    listing = subprocess.run(
        ["dpkg-query", "-L", *(package.binary for package in packages)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    paths = {line for line in listing.splitlines() if line.startswith("/")}
    return sorted(path for path in paths if not path.startswith(SKIPPED_PREFIXES))


# --- layer entries ---------------------------------------------------------------------------


def _canonical(path: str) -> str:
    # On a merged-/usr system dpkg says /bin/dash for what is /usr/bin/dash: enter it once,
    # under its real directory (the image gets the same /bin -> usr/bin links).
    parent, name = os.path.split(path)
    return os.path.join(os.path.realpath(parent), name)


def host_entries(paths: Iterable[str]) -> Iterator[LayerEntry]:
    """Describe host PATHS (files, links, directories) as layer entries at the same place."""
    for path in {_canonical(path) for path in paths if path not in ("/", "/.")}:
        host = Path(path)
        if host.is_symlink():
            yield symlink_entry(path, os.readlink(host))
        elif host.is_dir():
            yield directory_entry(path)
        elif host.is_file():
            yield file_entry(path, host)
        # Anything else (a conffile removed by the admin, a socket) is not part of the base.


def merged_usr_links() -> Iterator[LayerEntry]:
    """Repeat the host's top-level /bin -> usr/bin style links in the image."""
    for name in MERGED_USR:
        top = Path("/") / name
        if top.is_symlink():
            yield symlink_entry(f"/{name}", os.readlink(top))


def java_home() -> str:
    """Return the directory of the installed OpenJDK 17 (named after the architecture)."""
    homes = sorted(p for p in glob.glob("/usr/lib/jvm/java-17-openjdk-*") if not os.path.islink(p))
    if not homes:
        raise LocalBaseError("OpenJDK 17 is not installed: run scripts/bootstrap.sh")
    return homes[0]


def jre_extras() -> list[LayerEntry]:
    """Accounts, /tmp and the Java trust store (generated on the host by ca-certificates-java)."""
    entries = [bytes_entry("/etc/passwd", PASSWD), bytes_entry("/etc/group", GROUP)]
    entries += [directory_entry("/tmp"), directory_entry("/root")]  # noqa: S108 (in the image)
    entries += merged_usr_links()
    cacerts = Path("/etc/ssl/certs/java/cacerts")
    return entries + ([file_entry(str(cacerts), cacerts)] if cacerts.is_file() else [])


def patch_tomcat_port(server_xml: str) -> str:
    """Make the HTTP connector's port come from -Dhttp.port (default 8080)."""
    patched = server_xml.replace(
        '<Connector port="8080"', '<Connector port="${http.port:-8080}"', 1
    )
    if patched == server_xml:
        raise LocalBaseError("tomcat10's server.xml changed: cannot make its port configurable")
    return patched


def tomcat_layout(skeleton: Path = TOMCAT_SKELETON) -> list[LayerEntry]:
    """The official image's layout over Debian's Tomcat, with the Jakarta migration tool."""
    if not skeleton.is_dir():
        raise LocalBaseError(f"{skeleton} is missing: install tomcat10-user")
    home = CATALINA_HOME
    entries = [
        symlink_entry(f"{home}/bin", "/usr/share/tomcat10/bin"),
        symlink_entry(f"{home}/lib", "/usr/share/tomcat10/lib"),
        *(directory_entry(f"{home}/{d}") for d in ("logs", "temp", "work", "webapps")),
        directory_entry(f"{home}/webapps-javaee"),
    ]
    for source in sorted(skeleton.iterdir()):
        text = source.read_bytes()
        if source.name == "server.xml":
            text = patch_tomcat_port(text.decode()).encode()
        entries.append(bytes_entry(f"{home}/conf/{source.name}", text))
    migration = sorted(glob.glob(MIGRATION_JARS))
    if not migration:
        raise LocalBaseError("the Jakarta EE migration tool is missing: install it (bootstrap)")
    link = symlink_entry("/usr/share/tomcat10/lib/jakartaee-migration.jar", migration[-1])
    return [*entries, link]


# --- images ----------------------------------------------------------------------------------


def jre_settings(home: str) -> dict[str, Any]:
    """Container settings of the JRE base (PATH reaches java without update-alternatives)."""
    env = [f"PATH={home}/bin:{BASE_PATH}", f"JAVA_HOME={home}", "LANG=C.UTF-8"]
    return {"Env": env, "Cmd": ["jshell"]}


def tomcat_settings(home: str) -> dict[str, Any]:
    """Container settings of the Tomcat base, as the official image has them."""
    env = [f"PATH={CATALINA_HOME}/bin:{home}/bin:{BASE_PATH}", f"JAVA_HOME={home}"]
    env += [f"CATALINA_HOME={CATALINA_HOME}", f"CATALINA_BASE={CATALINA_HOME}", "LANG=C.UTF-8"]
    return {
        "Env": env,
        "WorkingDir": CATALINA_HOME,
        "ExposedPorts": {"8080/tcp": {}},
        "Cmd": ["catalina.sh", "run"],
    }


def _architecture() -> str:
    return ARCHITECTURES.get(platform.machine(), platform.machine())


def image_config(layers: Sequence[LayerBlob], settings: dict[str, Any], what: str) -> bytes:
    """Render a reproducible image config for LAYERS (canonical JSON, fixed times)."""
    config = {
        "architecture": _architecture(),
        "os": "linux",
        "created": FIXED_TIME,
        "config": settings,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": FIXED_TIME, "created_by": f"b2i local base: {what}"}],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def image_manifest(layers: Sequence[LayerBlob], config: bytes) -> bytes:
    """Render the OCI manifest naming CONFIG and LAYERS."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [
            {"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size}
            for layer in layers
        ],
    }
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def _opener(path: Path) -> Callable[[], BinaryIO]:
    return lambda: path.open("rb")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(
    client: RegistryClient, repository: str, tag: str, layers: Sequence[LayerBlob], config: bytes
) -> str:
    """Upload missing LAYERS and CONFIG, then the manifest as TAG; return its digest."""
    for layer in layers:
        if client.blob_exists(repository, layer.digest) is None:
            client.upload_blob(repository, layer.digest, layer.size, _opener(layer.path))
    client.upload_blob(repository, _digest(config), len(config), lambda: io.BytesIO(config))
    return client.put_manifest(repository, tag, image_manifest(layers, config), OCI_MANIFEST)


# --- cached layers ---------------------------------------------------------------------------


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second make run / test session waits, then reuses
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recipe_key(packages: Sequence[Package]) -> str:
    """Return a key that changes whenever a package version or this recipe changes."""
    text = "\n".join([RECIPE, _architecture(), *(f"{p.name}={p.version}" for p in packages)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cached_layer(directory: Path, name: str) -> LayerBlob | None:
    meta = directory / f"{name}.json"
    if not meta.is_file():
        return None
    data = json.loads(meta.read_text())
    path = directory / data["file"]
    return (
        LayerBlob(path, data["digest"], data["diff_id"], data["size"]) if path.is_file() else None
    )


def _keep_layer(directory: Path, name: str, layer: LayerBlob) -> LayerBlob:
    data: dict[str, Any] = {"file": layer.path.name, "digest": layer.digest}
    data |= {"diff_id": layer.diff_id, "size": layer.size}
    (directory / f"{name}.json").write_text(json.dumps(data))
    return layer


def _unique(entries: Iterable[LayerEntry]) -> list[LayerEntry]:
    # dpkg lists /lib64 (a link on merged-/usr hosts) and so do the merged-/usr links: one wins.
    return list({entry.path: entry for entry in entries}.values())


def base_layers(cache_dir: Path) -> tuple[LayerBlob, LayerBlob]:
    """Return the JRE layer and the Tomcat layer, written once per package versions."""
    installed = installed_packages()
    jre = package_closure(JRE_PACKAGES, installed)
    tomcat = package_closure((*JRE_PACKAGES, *TOMCAT_PACKAGES), installed)
    directory = cache_dir / recipe_key(tomcat)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(cache_dir / ".lock"):
        jre_layer = _cached_layer(directory, "jre")
        if jre_layer is None:
            entries = _unique([*host_entries(package_paths(jre)), *jre_extras()])
            jre_layer = _keep_layer(directory, "jre", write_layer(entries, directory))
        tomcat_layer = _cached_layer(directory, "tomcat")
        if tomcat_layer is None:
            extra = [p for p in tomcat if p not in jre]
            entries = _unique([*host_entries(package_paths(extra)), *tomcat_layout()])
            tomcat_layer = _keep_layer(directory, "tomcat", write_layer(entries, directory))
    return jre_layer, tomcat_layer


def push_local_bases(
    client: RegistryClient, cache_dir: Path, repository: str = "b2i/debian"
) -> tuple[LocalBase, LocalBase]:
    """Push the JRE 17 base (REPOSITORY:java-17) and Tomcat 10 (REPOSITORY:tomcat-10)."""
    jre_layer, tomcat_layer = base_layers(cache_dir)
    home = java_home()
    pushed = []
    for tag, layers, settings in (
        ("java-17", [jre_layer], jre_settings(home)),
        ("tomcat-10", [jre_layer, tomcat_layer], tomcat_settings(home)),
    ):
        config = image_config(layers, settings, f"{tag} from Debian packages")
        pushed.append(
            LocalBase(repository, tag, push_image(client, repository, tag, layers, config))
        )
    return pushed[0], pushed[1]
