"""make run's local bases (b2i.local_bases): made from this machine's installed Debian packages,
with no network, cached by package versions, Tomcat laid out as the official image."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest

from b2i.local_bases import (
    JRE_PACKAGES,
    LocalBaseError,
    Package,
    base_layers,
    installed_packages,
    package_closure,
    recipe_key,
)


def members(layer: Path) -> dict[str, tarfile.TarInfo]:
    with gzip.open(layer) as raw, tarfile.open(fileobj=raw) as tar:
        return {member.name: member for member in tar.getmembers()}


def read_member(layer: Path, name: str) -> str:
    with gzip.open(layer) as raw, tarfile.open(fileobj=raw) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read().decode()


def test_the_closure_follows_installed_alternatives_and_names_what_is_missing() -> None:
    installed = installed_packages()
    names = {package.name for package in package_closure(JRE_PACKAGES, installed)}
    assert {"openjdk-17-jre-headless", "libc6", "dash", "coreutils"} <= names
    fake = Package("needs-nothing-here", "x", "1", (), (("no-such-package-b2i",),))
    with pytest.raises(LocalBaseError, match="no-such-package-b2i"):
        package_closure(["needs-nothing-here"], {**installed, fake.name: fake})
    with pytest.raises(LocalBaseError, match="not installed"):
        package_closure(["no-such-package-b2i"], installed)


def test_the_key_changes_with_any_package_version() -> None:
    packages = package_closure(JRE_PACKAGES, installed_packages())
    bumped = [*packages[:-1], Package(packages[-1].name, "", packages[-1].version + "+1", (), ())]
    assert recipe_key(packages) != recipe_key(bumped)


def test_layers_are_built_once_and_tomcat_is_laid_out_like_the_official_image(
    tmp_path: Path,
) -> None:
    jre, tomcat = base_layers(tmp_path)
    written = (jre.path.stat().st_mtime_ns, tomcat.path.stat().st_mtime_ns)
    assert base_layers(tmp_path) == (jre, tomcat)  # the cache answers the second time
    assert (jre.path.stat().st_mtime_ns, tomcat.path.stat().st_mtime_ns) == written

    jre_files = members(jre.path)
    assert any(name.endswith("/bin/java") for name in jre_files)
    assert "etc/passwd" in jre_files and "usr/bin/dash" in jre_files
    assert not any(name.startswith("usr/share/doc/") for name in jre_files)

    tomcat_files = members(tomcat.path)
    home = "usr/local/tomcat"
    assert tomcat_files[f"{home}/bin"].linkname == "/usr/share/tomcat10/bin"
    assert tomcat_files[f"{home}/webapps-javaee"].isdir()  # Tomcat 10.1's legacy app base
    migration = tomcat_files["usr/share/tomcat10/lib/jakartaee-migration.jar"]
    assert migration.issym() and "jakartaee-migration" in migration.linkname
    assert '<Connector port="${http.port:-8080}"' in read_member(
        tomcat.path, f"{home}/conf/server.xml"
    )
