"""Image references are parsed, normalised and validated like Docker does."""

from __future__ import annotations

import pytest

from b2i.oci.errors import InvalidReferenceError
from b2i.oci.references import Reference, parse_reference, rewrite_with_mirror

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/team/app:v1", "localhost:5000/team/app:v1"),
        ("127.0.0.1:5000/a/b/c:1.0-rc_1", "127.0.0.1:5000/a/b/c:1.0-rc_1"),
        ("Registry.Example.com/app", "registry.example.com/app:latest"),
        ("[::1]:5000/app:1", "[::1]:5000/app:1"),
        (f"ghcr.io/o/app@{DIGEST}", f"ghcr.io/o/app@{DIGEST}"),
        (f"ghcr.io/o/app:1@{DIGEST}", f"ghcr.io/o/app:1@{DIGEST}"),
        ("eclipse-temurin:17-jre", "docker.io/library/eclipse-temurin:17-jre"),
    ],
)
def test_parse_normalises_like_docker(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_parts_of_a_registry_with_port_and_tag() -> None:
    ref = parse_reference("127.0.0.1:5000/team/app:v2")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        "127.0.0.1:5000",
        "team/app",
        "v2",
        None,
    )
    assert ref.api_host == "127.0.0.1:5000"
    assert ref.manifest_reference == "v2"


def test_docker_hub_api_lives_on_registry_1() -> None:
    assert parse_reference("nginx").api_host == "registry-1.docker.io"
    assert parse_reference("index.docker.io/x/y").api_host == "registry-1.docker.io"


def test_digest_only_reference_has_no_tag_and_uses_the_digest() -> None:
    ref = parse_reference(f"app@{DIGEST}")
    assert ref.tag is None
    assert ref.manifest_reference == DIGEST


def test_with_tag_and_with_digest_return_new_references() -> None:
    ref = parse_reference("r.example.com/app:1")
    pinned = ref.with_digest(DIGEST)
    assert str(pinned) == f"r.example.com/app:1@{DIGEST}"
    assert pinned.manifest_reference == DIGEST
    assert str(pinned.with_tag("2")) == "r.example.com/app:2"
    assert str(ref) == "r.example.com/app:1"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Nginx", "lower case"),
        ("team/App", "lower case"),
        ("app:-bad", "invalid tag"),
        ("app:" + "x" * 129, "invalid tag"),
        ("app@sha256:1234", "invalid digest"),
        ("app@md5:" + "a" * 32, "invalid digest"),
        ("https://r.example.com/app", "scheme"),
        ("r.example.com/a//b", "invalid repository"),
        ("r.example.com/app_/x", "invalid repository"),
        ("bad_host.com:99x/app", "invalid"),
        ("a b", "spaces"),
        ("r.example.com/" + "a" * 256, "longer than"),
    ],
)
def test_invalid_references_give_clear_errors(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReferenceError) as caught:
        parse_reference(text)
    assert caught.value.code == "reference:invalid"
    assert fragment in caught.value.message


def test_invalid_tag_or_digest_in_builders_is_refused() -> None:
    ref = parse_reference("app")
    with pytest.raises(InvalidReferenceError):
        ref.with_tag("no/slash")
    with pytest.raises(InvalidReferenceError):
        ref.with_digest("sha256:xyz")


def test_mirror_rewrites_docker_hub_only() -> None:
    hub = parse_reference("eclipse-temurin:17-jre")
    mirrored = rewrite_with_mirror(hub, "https://mirror.local:5000/hub")
    assert mirrored == Reference("mirror.local:5000", "hub/library/eclipse-temurin", "17-jre")
    assert rewrite_with_mirror(hub, "mirror.local").registry == "mirror.local"
    other = parse_reference("quay.io/a/b:1")
    assert rewrite_with_mirror(other, "mirror.local") is other
    assert rewrite_with_mirror(hub, None) is hub


def test_bad_mirror_is_refused() -> None:
    with pytest.raises(InvalidReferenceError):
        rewrite_with_mirror(parse_reference("nginx"), "mirror local")
