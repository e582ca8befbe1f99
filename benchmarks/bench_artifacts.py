"""Benchmark artifacts made from real jars: shaded fat JARs and Spring Boot JARs with fresh bytes.

"Fresh" means that no cache (ours, buildah's, or the registry's) can know any layer of it:
- fat JAR: the classes of real jars under /usr/share/java, relocated under a per-run package
  prefix (as the shade plugin's relocation does), so every path, and so every layer, is new;
- Spring Boot JAR: the same real jars in BOOT-INF/lib, each given a per-run zip comment (a
  valid jar still, with new bytes);
- static binary: a compiled static C server padded with per-run pseudo-random bytes.
"""

from __future__ import annotations

import compileall
import shutil
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fixtures import artifacts  # noqa: E402

JAVA_DIR = Path("/usr/share/java")
# Debian packages with big real jars, installed when /usr/share/java holds too few bytes.
JAVA_PACKAGES = (
    "libicu4j-java", "libbcprov-java", "groovy", "libeclipse-jdt-core-java", "libguava-java",
    "libnetty-java", "libapache-poi-java", "libfop-java", "libbatik-java", "libxalan2-java",
)  # fmt: skip
MiB = 1024 * 1024
_EOCD = b"PK\x05\x06"


def real_jars() -> list[Path]:
    """Return the distinct real jars under /usr/share/java, biggest first."""
    found = {path.resolve() for path in JAVA_DIR.glob("*.jar") if path.is_file()}
    good = [path for path in found if zipfile.is_zipfile(path)]
    return sorted(good, key=lambda path: (-path.stat().st_size, path.name))


def ensure_real_jars(total: int) -> None:
    """Install Debian Java libraries (apt-get) when the real jars add up to less than TOTAL."""
    if sum(path.stat().st_size for path in real_jars()) >= total:
        return
    print(f"installing Debian Java libraries: {' '.join(JAVA_PACKAGES)}", file=sys.stderr)
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *JAVA_PACKAGES]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def jars_totalling(total: int) -> list[Path]:
    """Return real jars, biggest first, adding up to about TOTAL bytes."""
    chosen, size = [], 0
    for jar in real_jars():
        if size >= total:
            break
        if size + jar.stat().st_size > total * 1.1:
            continue  # too big to keep near the target size; a smaller one may fit
        chosen.append(jar)
        size += jar.stat().st_size
    return chosen


def _relocated_members(jars: list[Path], prefix: str) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    seen: set[str] = set()
    for jar in jars:
        with zipfile.ZipFile(jar) as archive:
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or name.startswith("META-INF/") or name in seen:
                    continue
                seen.add(name)
                member = zipfile.ZipInfo(f"{prefix}/{name}", artifacts.ZIP_TIME)
                member.compress_type = zipfile.ZIP_DEFLATED
                member.external_attr = 0o100644 << 16
                yield member, archive.read(info)


def build_fat_jar(workdir: Path, nonce: str, jars: list[Path]) -> Path:
    """Build an executable shaded JAR: our HTTP app + JARS' classes relocated under NONCE."""
    app = artifacts.build_http_jar(workdir, f"fat {nonce}", name=f"app-{nonce}.jar")
    target = workdir / f"fat-{nonce}.jar"
    shutil.copyfile(app, target)
    app.unlink()
    with zipfile.ZipFile(target, "a", compresslevel=1) as archive:
        for member, data in _relocated_members(jars, f"shaded/r{nonce}"):
            archive.writestr(member, data)
    return target


def with_zip_comment(source: Path, target: Path, comment: bytes) -> Path:
    """Copy the jar SOURCE to TARGET with COMMENT as its zip comment (new bytes, same jar)."""
    data = source.read_bytes()
    end = data.rfind(_EOCD)
    if end < 0 or len(data) - end < 22:
        raise ValueError(f"{source} has no end-of-central-directory record")
    record = data[end : end + 20] + struct.pack("<H", len(comment)) + comment
    target.write_bytes(data[:end] + record)
    return target


def build_boot_jar(workdir: Path, message: str, jars: list[Path], nonce: str = "") -> Path:
    """Build a Spring Boot-layout JAR with JARS in BOOT-INF/lib (re-commented with NONCE)."""
    libs = jars
    if nonce:
        folder = workdir / f"libs-{nonce}"
        folder.mkdir(exist_ok=True)
        libs = [with_zip_comment(jar, folder / jar.name, nonce.encode()) for jar in jars]
    name = f"boot-{nonce or 'fixed'}-{abs(hash(message)) % 10**8}.jar"
    jar = artifacts.build_spring_boot_jar(workdir, message, name=name, libs=libs)
    if nonce:
        shutil.rmtree(workdir / f"libs-{nonce}")
    return jar


def build_binary(workdir: Path, nonce: str, size: int) -> Path:
    """Build a static C HTTP server padded with fresh pseudo-random bytes to SIZE bytes."""
    name = f"server-{nonce}"
    binary = artifacts.build_static_binary(workdir, f"bin {nonce}", name=name)
    padding = max(0, size - binary.stat().st_size)
    return artifacts.build_static_binary(workdir, f"bin {nonce}", name=name, padding=padding)


def compile_engine() -> None:
    """Byte-compile the engine (as scripts/bootstrap.sh does) so no timed `b2i` process does.

    PYTHONDONTWRITEBYTECODE is set on these machines: a module edited since the bootstrap is
    otherwise compiled again in every process (5-8 ms each for the bigger ones).
    """
    repo = Path(__file__).resolve().parents[1]
    compileall.compile_dir(str(repo / "builders"), quiet=1)
