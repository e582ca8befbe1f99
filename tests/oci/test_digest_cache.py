"""The digest cache: a base's manifests and config come from disk once known, checked, bounded.

Against the real registry: resolving a base again asks only for its tag (before: the platform
manifest and the config blob were fetched again for every build).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx

from b2i.oci.digest_cache import DigestCache, digest_cache_in
from b2i.oci.image import Platform
from b2i.oci.push import resolve_base
from b2i.oci.registry import RegistryClient
from tests.fixtures import base_images
from tests.fixtures.registry import Registry

CONFIG = "application/vnd.oci.image.config.v1+json"


def digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


class RequestLog:
    """The method and path of every request a client sends."""

    def __init__(self, client: RegistryClient) -> None:
        self.seen: list[tuple[str, str]] = []
        client.http.event_hooks["request"].append(self.record)

    def record(self, request: httpx.Request) -> None:
        self.seen.append((request.method, request.url.path))


def test_what_was_put_comes_back_with_its_media_type(tmp_path: Path) -> None:
    cache, content = DigestCache(tmp_path / "c"), b'{"architecture":"amd64"}'

    assert cache.get(digest(content)) is None
    cache.put(digest(content), CONFIG, content)

    assert cache.get(digest(content)) == (CONFIG, content)


def test_bytes_that_do_not_hash_to_the_digest_are_not_kept(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path)

    cache.put(digest(b"what was asked for"), CONFIG, b"something else")

    assert cache.get(digest(b"what was asked for")) is None
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_entry_is_dropped_and_reported_missing(tmp_path: Path) -> None:
    cache, content = DigestCache(tmp_path), b'{"os":"linux"}'
    cache.put(digest(content), CONFIG, content)
    stored = tmp_path / digest(content).removeprefix("sha256:")
    stored.write_bytes(stored.read_bytes().replace(b"linux", b"l1nux"))

    assert cache.get(digest(content)) is None
    assert not stored.exists()


def test_only_sha256_digests_are_kept_and_never_outside_the_root(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path / "root")

    cache.put("sha512:" + "a" * 128, CONFIG, b"x")
    cache.put("sha256:../../escape", CONFIG, b"x")

    assert cache.get("sha256:../../escape") is None
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "root").exists() or list((tmp_path / "root").iterdir()) == []


def test_beyond_its_bound_the_least_recently_used_go(tmp_path: Path) -> None:
    cache = DigestCache(tmp_path, max_files=10)
    contents = [f"config {index}".encode() for index in range(10)]
    for age, content in enumerate(contents):
        cache.put(digest(content), CONFIG, content)
        os.utime(tmp_path / digest(content)[7:], (1000 + age, 1000 + age))
    assert cache.get(digest(contents[0])) is not None  # used now: the most recent

    cache.put(digest(b"one too many"), CONFIG, b"one too many")

    kept = {path.name for path in tmp_path.iterdir()}
    assert len(kept) == 9
    assert digest(contents[0])[7:] in kept and digest(b"one too many")[7:] in kept
    assert digest(contents[1])[7:] not in kept and digest(contents[2])[7:] not in kept


def test_a_cache_that_cannot_write_never_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = DigestCache(blocker / "cache")

    cache.put(digest(b"x"), CONFIG, b"x")

    assert cache.get(digest(b"x")) is None


def test_the_cache_lives_beside_the_layer_cache_and_none_without_one(tmp_path: Path) -> None:
    found = digest_cache_in(tmp_path)
    assert found is not None and found.root == tmp_path / "by-digest"
    assert digest_cache_in(None) is None


def test_a_base_resolved_again_costs_only_its_tag(
    registry: Registry, busybox_multi_platform: base_images.BaseImage, tmp_path: Path
) -> None:
    base, cache = busybox_multi_platform, DigestCache(tmp_path)
    platform = Platform.parse("linux/amd64")
    with RegistryClient(registry.host, scheme="http", allowed_networks=["127.0.0.0/8"]) as client:
        first = resolve_base(client, base.repository, base.tag, base.tagged, platform, cache)
        log = RequestLog(client)
        again = resolve_base(client, base.repository, base.tag, base.tagged, platform, cache)

    assert log.seen == [("GET", f"/v2/{base.repository}/manifests/{base.tag}")]
    assert (again.digest, again.config, again.manifest) == (
        first.digest,
        first.config,
        first.manifest,
    )


def test_without_a_cache_every_resolution_fetches_everything(
    registry: Registry, busybox_multi_platform: base_images.BaseImage
) -> None:
    base, platform = busybox_multi_platform, Platform.parse("linux/amd64")
    with RegistryClient(registry.host, scheme="http", allowed_networks=["127.0.0.0/8"]) as client:
        resolve_base(client, base.repository, base.tag, base.tagged, platform)
        log = RequestLog(client)
        resolve_base(client, base.repository, base.tag, base.tagged, platform)

    assert [method for method, _ in log.seen] == ["GET", "GET", "GET"]  # index, manifest, config
