"""SSRF guard: link-local/metadata always refused, private only when allowed, checked at connect."""

from __future__ import annotations

import socket

import pytest

from b2i.oci.errors import BlockedAddressError, InvalidReferenceError, UnreachableError
from b2i.oci.netpolicy import check_host_allowed, split_host_port
from b2i.oci.transport import build_http_client
from tests.fixtures.registry import Registry

ALLOW_ALL_PRIVATE = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "169.254.0.0/16", "fe80::/10")


@pytest.mark.parametrize(
    "host",
    [
        "169.254.169.254",
        "169.254.169.254:80",
        "169.254.0.1",
        "[fe80::1]:5000",
        "fd00:ec2::254",
        "[::ffff:169.254.169.254]:443",
        "::ffff:a9fe:a9fe",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "::169.254.169.254",
    ],
)
def test_link_local_and_metadata_are_always_refused(host: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check_host_allowed(host, ALLOW_ALL_PRIVATE)
    assert caught.value.code == "registry:blocked-address"
    assert "link-local or cloud metadata" in caught.value.message


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:5000", "localhost", "10.0.0.8", "192.168.1.1", "[::1]:5000", "0.0.0.0"],  # noqa: S104
)
def test_private_and_loopback_need_an_allowed_network(host: str) -> None:
    with pytest.raises(BlockedAddressError) as caught:
        check_host_allowed(host, ())
    assert "B2I_ALLOWED_REGISTRY_NETWORKS" in caught.value.message


def test_allowed_networks_admit_exactly_their_ranges() -> None:
    check_host_allowed("127.0.0.1:5000", ("127.0.0.0/8",))
    check_host_allowed("[::ffff:127.0.0.1]:5000", ("127.0.0.0/8",))
    check_host_allowed("10.20.30.40", ("10.0.0.0/8",))
    with pytest.raises(BlockedAddressError):
        check_host_allowed("10.20.30.40", ("10.0.0.0/16",))


def test_global_addresses_pass() -> None:
    check_host_allowed("8.8.8.8", ())
    check_host_allowed("[2606:4700::1111]:443", ())


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def resolve(host: str, port: object, *args: object, **kwargs: object) -> object:
        if host in answers:
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port),
                )
                for ip in answers[host]
            ]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_a_name_is_refused_if_any_of_its_addresses_is_bad(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"mixed.example.test": ["8.8.8.8", "169.254.169.254"]})
    with pytest.raises(BlockedAddressError):
        check_host_allowed("mixed.example.test", ())


def dns_failure_for(host: str, monkeypatch: pytest.MonkeyPatch) -> UnreachableError:
    """Check HOST while name resolution fails; return the error it raised."""

    def fail(*args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_AGAIN, "temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UnreachableError) as caught:
        check_host_allowed(host, ())
    assert caught.value.code == "registry:dns-failed"
    return caught.value


def test_unresolvable_name_is_a_dns_error(monkeypatch: pytest.MonkeyPatch) -> None:
    error = dns_failure_for("nowhere.example.test", monkeypatch)
    assert "'nowhere.example.test'" in str(error) and "mirror" not in str(error)


def test_unresolvable_docker_hub_suggests_a_mirror_or_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    error = dns_failure_for("registry-1.docker.io", monkeypatch)
    assert "B2I_REGISTRY_MIRROR" in str(error) and "proxy" in str(error)


def test_bad_host_syntax_is_invalid() -> None:
    with pytest.raises(InvalidReferenceError):
        split_host_port("host:99999")
    with pytest.raises(InvalidReferenceError):
        split_host_port("[::1]x")
    assert split_host_port("[::1]:5000") == ("::1", 5000)
    assert split_host_port("fd00::1") == ("fd00::1", None)


def test_bad_allowed_network_is_reported() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        check_host_allowed("127.0.0.1", ("not-a-network",))


def test_http_client_checks_the_address_it_connects_to(registry: Registry) -> None:
    with build_http_client(allowed_networks=()) as client, pytest.raises(BlockedAddressError):
        client.get(f"{registry.url}/v2/")
    with build_http_client(allowed_networks=("127.0.0.0/8",)) as client:
        assert client.get(f"{registry.url}/v2/").status_code == 200


def test_dns_rebinding_after_the_check_is_still_refused(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection resolves and checks again, so a name that changes is caught."""
    fake_dns(monkeypatch, {"rebind.example.test": ["127.0.0.1"]})
    check_host_allowed("rebind.example.test", ("127.0.0.0/8",))
    fake_dns(monkeypatch, {"rebind.example.test": ["169.254.169.254"]})
    url = f"http://rebind.example.test:{registry.port}/v2/"
    client = build_http_client(allowed_networks=("127.0.0.0/8",))
    with client, pytest.raises(BlockedAddressError):
        client.get(url)


def test_http_client_connects_to_the_checked_address(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"registry.example.test": ["127.0.0.1"]})
    with build_http_client(allowed_networks=("127.0.0.0/8",)) as client:
        response = client.get(f"http://registry.example.test:{registry.port}/v2/")
    assert response.status_code == 200
