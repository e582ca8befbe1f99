"""Layer cache hints (zip CRC32 + sizes) find candidates cheaply but never decide a hit alone."""

import io
import tarfile
import zipfile
import zlib

from b2i.oci.layer_cache import LayerCache, layer_hint, layer_key
from b2i.packaging.environments import get_environment
from b2i.packaging.inspection import inspect_artifact
from b2i.packaging.layering import plan_layers

MANIFEST = b"Manifest-Version: 1.0\r\nMain-Class: app.Main\r\n\r\n"


def _crc_forged(prefix: bytes, target: int) -> bytes:
    """Return PREFIX + 4 bytes whose CRC32 is TARGET (CRC32 is affine over GF(2))."""
    base = zlib.crc32(prefix + bytes(4))
    pivots: dict[int, tuple[int, int]] = {}  # pivot bit -> (CRC change, suffix bits), reduced
    for i in range(32):
        change, suffix = zlib.crc32(prefix + (1 << i).to_bytes(4, "little")) ^ base, 1 << i
        for bit, (other, other_suffix) in pivots.items():
            if change >> bit & 1:
                change, suffix = change ^ other, suffix ^ other_suffix
        if change:
            top = change.bit_length() - 1
            for bit, (other, other_suffix) in list(pivots.items()):
                if other >> top & 1:
                    pivots[bit] = (other ^ change, other_suffix ^ suffix)
            pivots[top] = (change, suffix)
    want, solution = target ^ base, 0
    for bit, (change, suffix) in pivots.items():
        if want >> bit & 1:
            want, solution = want ^ change, solution ^ suffix
    forged = prefix + solution.to_bytes(4, "little")
    assert zlib.crc32(forged) == target
    return forged


def _jar(path, data: bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("META-INF/MANIFEST.MF", MANIFEST)
        archive.writestr("app/Main.class", b"\xca\xfe\xba\xbe\x00\x00\x00\x34")
        archive.writestr("lib/data.bin", data)
    return path


def _dependencies(jar):
    inspection = inspect_artifact(jar)
    plans = plan_layers(jar, inspection, get_environment("java-17"), exploded=True)
    return next(plan for plan in plans if plan.name == "dependencies").entries


def _member(blob, name):
    """Return NAME's bytes: a file of the layer, or a member of its split dependencies JAR."""
    with tarfile.open(blob.path) as tar:
        files = {m.name: m for m in tar.getmembers() if m.isfile()}
        member = next((m for path, m in files.items() if path.endswith(name)), None)
        if member is not None:
            return tar.extractfile(member).read()
        jar = tar.extractfile(files["app/lib/dependencies.jar"]).read()
        with zipfile.ZipFile(io.BytesIO(jar)) as dependencies:
            return dependencies.read(name)


def test_a_crafted_crc32_collision_gets_its_own_layer_not_the_cached_one(tmp_path):
    genuine = b"genuine dependency bytes " * 40
    forged = _crc_forged(b"M" * (len(genuine) - 4), zlib.crc32(genuine))
    assert len(forged) == len(genuine) and forged != genuine
    first = _dependencies(_jar(tmp_path / "genuine.jar", genuine))
    second = _dependencies(_jar(tmp_path / "forged.jar", forged))
    assert layer_hint(first) == layer_hint(second)  # the hints collide...
    assert layer_key(first) != layer_key(second)  # ...the full keys do not

    cache = LayerCache(tmp_path / "cache")
    cached, hit = cache.write_layer(first, tmp_path / "one")
    again, hit_again = cache.write_layer(second, tmp_path / "two")
    assert (hit, hit_again) == (False, False)
    assert again.digest != cached.digest
    assert _member(again, "lib/data.bin") == forged
    assert _member(cached, "lib/data.bin") == genuine


def test_a_fresh_layer_is_a_hit_next_time_through_its_hint(tmp_path):
    jar = _jar(tmp_path / "app.jar", b"some dependency " * 100)
    cache = LayerCache(tmp_path / "cache")
    first, hit = cache.write_layer(_dependencies(jar), tmp_path / "one")
    copy = tmp_path / "copy.jar"
    copy.write_bytes(jar.read_bytes())
    second, hit_again = cache.write_layer(_dependencies(copy), tmp_path / "two")
    assert (hit, hit_again) == (False, True)
    assert second.digest == first.digest
    assert (tmp_path / "cache" / "hints" / layer_hint(_dependencies(copy))).read_text() == (
        layer_key(_dependencies(copy))
    )
