"""Proxy settings: where they come from, which hosts bypass the proxy (NO_PROXY forms as curl
and Go read them), bad proxy URLs refused with a clear code, credentials never shown."""

from __future__ import annotations

import pytest

from b2i.oci.errors import InvalidProxyError
from b2i.oci.proxy import ProxyAddress, parse_no_proxy, proxy_config, redact_url

CORP = "http://proxy.corp.example:3128"
SECRET_PROXY = "http://alice:s3cr%40t@proxy.corp.example:3128"


def bypassed(no_proxy: str, host: str, port: int = 443) -> bool:
    config = proxy_config({}, proxy=CORP, no_proxy=no_proxy)
    return config.proxy_for("https", host, port) is None


def test_standard_variables_choose_the_proxy_by_registry_scheme() -> None:
    config = proxy_config({"HTTPS_PROXY": CORP, "HTTP_PROXY": "http://plain.corp.example:8080"})
    assert str(config.proxy_for("https", "registry-1.docker.io")) == CORP
    assert str(config.proxy_for("http", "harbor.example")) == "http://plain.corp.example:8080"
    only_https = proxy_config({"HTTPS_PROXY": CORP})
    assert only_https.proxy_for("http", "harbor.example") is None


def test_lowercase_variables_win_as_in_curl() -> None:
    config = proxy_config({"https_proxy": CORP, "HTTPS_PROXY": "http://other.example:1"})
    assert str(config.proxy_for("https", "quay.io")) == CORP


def test_an_explicit_proxy_serves_both_schemes_and_off_ignores_the_environment() -> None:
    environ = {"HTTPS_PROXY": "http://env.example:1", "HTTP_PROXY": "http://env.example:1"}
    explicit = proxy_config(environ, proxy=CORP)
    assert str(explicit.proxy_for("http", "harbor.example")) == CORP
    assert str(explicit.proxy_for("https", "quay.io")) == CORP
    off = proxy_config(environ, proxy="off")
    assert not off.enabled
    assert off.proxy_for("https", "quay.io") is None


def test_loopback_is_never_proxied_by_default_even_with_a_no_proxy_list() -> None:
    config = proxy_config({"HTTPS_PROXY": CORP, "NO_PROXY": ".corp.example"})
    for host in ("localhost", "127.0.0.1", "127.5.6.7", "::1", "[::1]"):
        assert config.proxy_for("https", host, 5000) is None, host
    assert config.proxy_for("https", "registry.corp.example") is None
    assert config.proxy_for("https", "quay.io") is not None


def test_an_explicit_no_proxy_list_replaces_the_loopback_default() -> None:
    everything = proxy_config({"NO_PROXY": "127.0.0.1"}, proxy=CORP, no_proxy="")
    assert everything.proxy_for("http", "127.0.0.1", 5000) is not None


@pytest.mark.parametrize(
    ("entry", "host", "port", "expected"),
    [
        ("corp.example", "corp.example", 443, True),
        ("corp.example", "registry.corp.example", 443, True),
        ("corp.example", "notcorp.example", 443, False),
        (".corp.example", "corp.example", 443, True),
        (".corp.example", "a.b.corp.example", 443, True),
        ("*.corp.example", "registry.corp.example", 443, True),
        ("Registry.Corp.Example.", "registry.corp.example", 443, True),
        ("registry.corp.example:5000", "registry.corp.example", 5000, True),
        ("registry.corp.example:5000", "registry.corp.example", 443, False),
        ("10.1.2.3", "10.1.2.3", 443, True),
        ("10.1.2.3:5000", "10.1.2.3", 443, False),
        ("10.0.0.0/8", "10.200.0.1", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("fd00::/8", "fd12::1", 443, True),
        ("[fd00::1]:5000", "fd00::1", 5000, True),
        ("[fd00::1]:5000", "fd00::1", 443, False),
        ("*", "quay.io", 443, True),
        ("10.0.0.0/8", "registry.corp.example", 443, False),  # CIDRs match IP hosts only
        ("10.0.0.0/33", "quay.io", 443, False),  # unreadable entries match nothing
    ],
)
def test_no_proxy_forms(entry: str, host: str, port: int, expected: bool) -> None:
    assert bypassed(entry, host, port) is expected


def test_no_proxy_lists_take_commas_and_spaces() -> None:
    rules = parse_no_proxy(" a.example, b.example  c.example,,")
    assert [rule.domain for rule in rules] == ["a.example", "b.example", "c.example"]


@pytest.mark.parametrize(
    "url",
    [
        "socks5://proxy.corp.example:1080",
        "http://proxy.corp.example:3128/some/path",
        "http://proxy.corp.example:99999",
        "http://",
        "http://proxy.corp.example:3128?x=1",
    ],
)
def test_a_bad_proxy_url_is_a_clear_configuration_error(url: str) -> None:
    with pytest.raises(InvalidProxyError) as caught:
        proxy_config({}, proxy=url)
    assert caught.value.code == "registry:proxy-invalid"
    assert "proxy" in caught.value.message


def test_a_proxy_without_scheme_is_http_as_curl_assumes() -> None:
    config = proxy_config({"HTTPS_PROXY": "proxy.corp.example:3128"})
    assert str(config.proxy_for("https", "quay.io")) == CORP


def test_credentials_are_redacted_everywhere_they_could_be_shown() -> None:
    config = proxy_config({}, proxy=SECRET_PROXY)
    address = config.proxy_for("https", "quay.io")
    assert isinstance(address, ProxyAddress)
    assert address.url == SECRET_PROXY  # still usable
    for shown in (str(address), repr(address), repr(config), config.describe()):
        assert "s3cr" not in shown and "alice" not in shown, shown
        assert "***@proxy.corp.example:3128" in shown
    with pytest.raises(InvalidProxyError) as caught:
        proxy_config({"HTTPS_PROXY": "socks5://alice:s3cret@proxy.corp.example:1080"})
    assert "s3cret" not in str(caught.value)
    with pytest.raises(InvalidProxyError) as bad_port:
        proxy_config({}, proxy="http://alice:s3cret@proxy.corp.example:notaport")
    assert "s3cret" not in str(bad_port.value)
    assert "***@proxy.corp.example:notaport" in str(bad_port.value)


def test_redact_url_handles_text_that_is_not_a_url() -> None:
    assert redact_url("alice:pw@host:1") == "***@host:1"
    assert redact_url("http://a:b@c@host:1/") == "http://***@host:1/"
    assert redact_url("http://host:1") == "http://host:1"
