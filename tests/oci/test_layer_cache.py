"""The layer cache: hits skip re-tarring, LRU eviction bounds it, concurrent builds share it."""

import io
import json
import multiprocessing
import os
from pathlib import Path

from b2i.oci.layer_cache import LayerCache, layer_key, write_layers_cached
from b2i.oci.layers import LayerEntry, bytes_entry, file_entry
from b2i.packaging.environments import get_environment
from b2i.packaging.inspection import inspect_artifact
from b2i.packaging.layering import plan_layers
from tests.fixtures import artifacts


class _CountingEntry:
    """Builds an entry whose opener counts how often the layer writer reads it."""

    def __init__(self, data: bytes, content_id: str):
        self.calls = 0
        self.data = data
        self.entry = LayerEntry(
            path="/app/data.bin",
            kind="file",
            size=len(data),
            opener=self._open,
            content_id=content_id,
        )

    def _open(self):
        self.calls += 1
        return io.BytesIO(self.data)


def test_second_write_is_a_hit_without_reading_the_entries(tmp_path):
    cache = LayerCache(tmp_path / "cache")
    counting = _CountingEntry(b"payload" * 1000, "sha256:payload")
    first, first_hit = cache.write_layer([counting.entry], tmp_path / "one")
    second, second_hit = cache.write_layer([counting.entry], tmp_path / "two")
    assert (first_hit, second_hit) == (False, True)
    assert counting.calls == 1
    assert (second.digest, second.diff_id, second.size) == (first.digest, first.diff_id, first.size)
    assert second.path.parent == tmp_path / "two"
    assert second.path.read_bytes() == first.path.read_bytes()


def test_key_changes_with_path_mode_and_content(tmp_path):
    base = layer_key([bytes_entry("/a/x", b"1")])
    assert layer_key([bytes_entry("/a/x", b"1")]) == base
    assert layer_key([bytes_entry("/a/y", b"1")]) != base
    assert layer_key([bytes_entry("/a/x", b"2")]) != base
    assert layer_key([bytes_entry("/a/x", b"1", executable=True)]) != base


def test_files_without_a_known_identity_are_keyed_by_their_bytes(tmp_path):
    source = tmp_path / "app.bin"
    source.write_bytes(b"first")
    before = layer_key([file_entry("/app/app", source)])
    source.write_bytes(b"other")  # same size, different bytes
    assert layer_key([file_entry("/app/app", source)]) != before


def _fill(cache, tmp_path, name, size):
    data = os.urandom(size)  # incompressible, so blob size ~ data size
    return cache.write_layer([bytes_entry(f"/{name}", data)], tmp_path / "out")


def test_least_recently_used_layers_are_evicted_first(tmp_path):
    cache = LayerCache(tmp_path / "cache", max_bytes=350_000)
    blobs = {name: _fill(cache, tmp_path, name, 100_000)[0] for name in ("a", "b", "c")}
    entries_dir = tmp_path / "cache" / "entries"
    assert len(list(entries_dir.iterdir())) == 3
    # Age "b" and "c" (b older), use "a" again (a hit refreshes it), then add "d": the bound
    # holds three, so "b", the least recently used, goes.
    for folder in entries_dir.iterdir():
        meta = json.loads((folder / "meta.json").read_text())
        if meta["digest"] == blobs["a"].digest:
            assert cache.lookup(folder.name, tmp_path / "again") is not None
        else:
            os.utime(
                folder / "meta.json", (1, 1000 if meta["digest"] == blobs["b"].digest else 2000)
            )
    _fill(cache, tmp_path, "d", 100_000)
    remaining = {
        json.loads((folder / "meta.json").read_text())["digest"] for folder in entries_dir.iterdir()
    }
    assert blobs["b"].digest not in remaining
    assert {blobs["a"].digest, blobs["c"].digest} <= remaining
    assert cache.total_size() <= 350_000


def test_a_layer_bigger_than_the_bound_is_not_kept(tmp_path):
    cache = LayerCache(tmp_path / "cache", max_bytes=10_000)
    blob, hit = _fill(cache, tmp_path, "big", 50_000)
    assert not hit and blob.path.exists()
    assert cache.total_size() == 0


def test_a_linked_hit_survives_eviction(tmp_path):
    cache = LayerCache(tmp_path / "cache", max_bytes=150_000)
    blob, _ = _fill(cache, tmp_path, "a", 100_000)
    _fill(cache, tmp_path, "b", 100_000)  # evicts "a" from the cache
    assert blob.path.exists() and blob.path.stat().st_size == blob.size


def test_a_damaged_entry_is_a_miss_and_is_dropped(tmp_path):
    cache = LayerCache(tmp_path / "cache")
    entry = bytes_entry("/x", b"x" * 10_000)
    cache.write_layer([entry], tmp_path / "one")
    (folder,) = (tmp_path / "cache" / "entries").iterdir()
    (folder / "layer.tar.gz").write_bytes(b"broken")
    blob, hit = cache.write_layer([entry], tmp_path / "two")
    assert not hit and blob.size > 6


def _run_four_processes(target, arguments):
    """Run TARGET in four spawned processes (ARGUMENTS(i, queue) each) and return what they put."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=target, args=arguments(i, queue)) for i in range(4)]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return results


def _build_in_process(root, out, queue):
    cache = LayerCache(Path(root))
    entry = bytes_entry("/shared/data", b"same bytes for every worker" * 5000)
    blob, hit = cache.write_layer([entry], Path(out))
    queue.put((blob.digest, hit))


def test_concurrent_builds_of_one_layer_write_it_once(tmp_path):
    results = _run_four_processes(
        _build_in_process, lambda i, queue: (tmp_path / "cache", tmp_path / f"o{i}", queue)
    )
    assert len({digest for digest, _ in results}) == 1
    assert sorted(hit for _, hit in results) == [False, True, True, True]
    assert len(list((tmp_path / "cache" / "entries").iterdir())) == 1


def test_rebuild_with_one_changed_class_reuses_every_other_layer(tmp_path):
    cache = LayerCache(tmp_path / "cache")
    environment = get_environment("java-17")
    results = []
    for version in ("one", "two"):
        folder = tmp_path / version
        folder.mkdir()
        jar = artifacts.build_spring_boot_jar(folder, f"version {version}")
        plans = plan_layers(jar, inspect_artifact(jar), environment)
        written = write_layers_cached(cache, [p.entries for p in plans], folder / "layers")
        results.append({plan.name: hit for plan, (_, hit) in zip(plans, written, strict=True)})
    assert set(results[0].values()) == {False}
    assert results[1] == {
        "dependencies": True,
        "spring-boot-loader": True,
        "snapshot-dependencies": True,
        "application": False,
    }


def _fill_in_process(root, out, seed, queue):
    cache = LayerCache(Path(root), max_bytes=400_000)
    digests = []
    for round_ in range(6):
        data = bytes([seed]) * 16 + os.urandom(100_000)
        blob, _ = cache.write_layer([bytes_entry(f"/w{seed}/{round_}", data)], Path(out))
        assert blob.path.stat().st_size == blob.size
        digests.append(blob.digest)
    queue.put(len(set(digests)))


def test_concurrent_builds_with_eviction_stay_within_the_bound(tmp_path):
    counts = _run_four_processes(
        _fill_in_process, lambda i, queue: (tmp_path / "cache", tmp_path / f"o{i}", i, queue)
    )
    assert counts == [6, 6, 6, 6]
    cache = LayerCache(tmp_path / "cache", max_bytes=400_000)
    assert 0 < cache.total_size() <= 400_000
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # no staging debris


def test_eviction_removes_stale_staging_and_the_evicted_lock_files(tmp_path):
    cache = LayerCache(tmp_path / "cache", max_bytes=150_000)
    stale = tmp_path / "cache" / "tmp" / "dead-build"
    stale.mkdir()
    os.utime(stale, (1, 1))
    _fill(cache, tmp_path, "a", 100_000)
    _fill(cache, tmp_path, "b", 100_000)  # evicts "a"
    (kept,) = (tmp_path / "cache" / "entries").iterdir()
    locks = {path.stem for path in (tmp_path / "cache" / "locks").glob("*.lock")}
    assert kept.name in locks and len(locks - {"evict"}) == 1
    assert not stale.exists()
