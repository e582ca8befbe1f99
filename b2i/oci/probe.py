"""Check a registry secret for real: can we log in, and may we push to a repository?

`probe_registry` GETs /v2/, follows the Basic or Bearer challenge (token scope
`repository:<repo>:pull,push`), then starts a blob upload in the repository and cancels it.
Every failure becomes a message in the result: the function does not raise for bad input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from b2i.oci.auth import Authenticator, Credentials, check_registry_address, repository_scope
from b2i.oci.errors import OciError, RegistryRequestError
from b2i.oci.netpolicy import check_host_allowed
from b2i.oci.proxy import ProxyConfig
from b2i.oci.references import DOCKER_HUB, DOCKER_HUB_API, check_repository, normalise_registry
from b2i.oci.transport import TransientError, build_http_client, translate_transport_error


@dataclass(frozen=True)
class ProbeResult:
    """Login and push results, reported separately, with stable codes for failures."""

    login_ok: bool
    login_message: str
    push_ok: bool | None
    push_message: str
    login_code: str | None = None
    push_code: str | None = None


class _Probe:
    def __init__(self, scheme: str, host: str, repository: str, auth: Authenticator) -> None:
        self.base = f"{scheme}://{host}"
        self.host = host
        self.repository = repository
        self.auth = auth
        self.scopes = (repository_scope(repository, ("pull", "push")),)

    def request(self, method: str, url: str) -> httpx.Response:
        header = self.authorization()
        headers = {"Authorization": header} if header else {}
        try:
            return self.auth.client.request(method, url, headers=headers)
        except httpx.TransportError as exc:
            raise translate_transport_error(exc, f"registry {self.host}") from exc

    def authorization(self) -> str | None:
        try:
            return self.auth.authorization(self.scopes)
        except TransientError as exc:
            raise exc.error from exc

    def login(self) -> str:
        response = self.request("GET", f"{self.base}/v2/")
        if response.status_code == 401:
            self.auth.learn(response, self.scopes)
            challenge = self.auth.challenge
            if challenge and challenge.scheme == "basic" and self.auth.credentials is None:
                raise OciError(
                    f"{self.host} requires a username and password",
                    code="registry:auth-failed",
                )
            response = self.request("GET", f"{self.base}/v2/")
            if response.status_code == 401:
                raise OciError(
                    f"{self.host} rejected the username or password",
                    code="registry:auth-failed",
                    status=401,
                )
        elif response.status_code == 200 and self.auth.credentials is not None:
            return f"{self.host} allows anonymous access; the credentials were not checked"
        self._expect(response, 200, "GET /v2/")
        if self.auth.credentials is None:
            return f"connected to {self.host} anonymously"
        return f"logged in to {self.host} as {self.auth.credentials.username}"

    def push(self) -> str:
        response = self.request("POST", f"{self.base}/v2/{self.repository}/blobs/uploads/")
        if response.status_code in (401, 403):
            raise OciError(
                f"these credentials may not push to {self.repository} on {self.host}",
                code="registry:push-denied",
                status=response.status_code,
            )
        self._expect(response, 202, "starting a blob upload")
        location = response.headers.get("Location")
        if location:
            # Cancel the upload we only started to test permissions; failure here is harmless.
            self.request("DELETE", urljoin(f"{self.base}/", location))
        return f"may push to {self.repository} on {self.host}"

    def _expect(self, response: httpx.Response, status: int, what: str) -> None:
        if response.status_code == status:
            return
        if response.status_code == 404 and what == "GET /v2/":
            raise RegistryRequestError(
                f"{self.host} has no registry API at /v2/: is this a container registry?",
                status=404,
            )
        raise RegistryRequestError(
            f"{self.host} answered {response.status_code} to {what}", status=response.status_code
        )


def _credentials(username: str | None, password: str | None) -> Credentials | None:
    if not username:
        return None
    return Credentials(username, password or "")


def _prepare(address: str, repository: str, allowed_networks: Sequence[str]) -> tuple[str, str]:
    scheme, host = check_registry_address(address)
    # Docker Hub's API does not live on the name users type.
    if normalise_registry(host) == DOCKER_HUB:
        host = DOCKER_HUB_API
    check_repository(repository or "")
    check_host_allowed(host, allowed_networks)
    return scheme, host


def probe_registry(
    address: str,
    username: str | None,
    password: str | None,
    repository: str,
    *,
    verify: bool = True,
    ca_bundle: str | None = None,
    allowed_networks: Sequence[str] = (),
    timeout: float = 10,
    proxy: ProxyConfig | None = None,
) -> ProbeResult:
    """Log in to the registry at ADDRESS and test push permission on REPOSITORY."""
    try:
        scheme, host = _prepare(address, repository, allowed_networks)
        client = build_http_client(
            verify=verify,
            ca_bundle=ca_bundle,
            allowed_networks=allowed_networks,
            timeout=timeout,
            proxy=proxy,
        )
    except OciError as exc:
        return ProbeResult(False, exc.message, None, "not checked", login_code=exc.code)
    with client:
        auth = Authenticator(
            client,
            registry_scheme=scheme,
            registry_host=host,
            credentials=_credentials(username, password),
            allowed_networks=allowed_networks,
        )
        probe = _Probe(scheme, host, repository, auth)
        try:
            login_message = probe.login()
        except OciError as exc:
            return ProbeResult(False, exc.message, None, "not checked", login_code=exc.code)
        try:
            return ProbeResult(True, login_message, True, probe.push())
        except OciError as exc:
            return ProbeResult(True, login_message, False, exc.message, push_code=exc.code)
