"""`b2i`: the image engine on the command line, without Django (for pipelines and benchmarks).

    b2i build ARTIFACT --to REGISTRY/REPO:TAG [--env NAME] [--from BASE] [--port N]
              [--set-env K=V ...] [--platform OS/ARCH] [--insecure] [--docker-config PATH]
              [--ca-file PEM] [--skip-tls-verify] [--mirror HOST[/PREFIX]]
              [--split-layers] [--layer-cache DIR|off] [--proxy URL|off] [--no-proxy LIST]
              [--json]
    b2i inspect ARTIFACT [--json]

Progress (each step with its time) goes to stderr; the pushed `registry/repo@sha256:…` is the
last line, on stdout, so `ref=$(b2i build …)` works (`--json`: the full result instead). Any
failure prints one line `b2i: error: <code>: <message>` and exits 1 (2 for bad usage, 3 for a
bug of ours, 130 when interrupted).

Registries on loopback or private networks are allowed (a CLI talks to its user's own
registries); set B2I_ALLOWED_REGISTRY_NETWORKS to narrow that (a list of networks, or `none`
for public registries only). Link-local and cloud metadata addresses are always refused.
`--insecure` talks plain HTTP to the registries (Docker Hub aside); over HTTPS, `--ca-file`
trusts the CA certificates of a PEM file (a Harbor with its own CA) and `--skip-tls-verify`
checks no certificate at all (both for the user's registries, never for Docker Hub, which
always gets the system's trust).
Credentials come from `--docker-config` or, when it exists, `$DOCKER_CONFIG/config.json` /
`~/.docker/config.json`. B2I_REGISTRY_MIRROR (or `--mirror`) rewrites docker.io bases.
Registries are reached through the proxy of HTTPS_PROXY / HTTP_PROXY (by the registry's
scheme) except for NO_PROXY's hosts and loopback; `--proxy URL` (or B2I_REGISTRY_PROXY) names
one proxy for all, `off` none; `--no-proxy LIST` (or B2I_NO_PROXY) replaces the bypass list,
loopback default included (see b2i.oci.proxy). The address check applies either way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from b2i.engine import (
    USER_ERRORS,
    BuildCancelled,
    BuildError,
    BuildRequest,
    BuildResult,
    RegistryAccess,
    SupplyChainOptions,
    build_image,
)
from b2i.event_text import human_bytes, terminal_line
from b2i.oci.auth import credentials_from_docker_config
from b2i.oci.events import Event
from b2i.oci.netpolicy import NO_NETWORKS
from b2i.oci.proxy import ProxyConfig, proxy_config
from b2i.oci.references import DOCKER_HUB_ALIASES
from b2i.packaging.inspection import inspect_artifact
from b2i.safe_text import escape_unsafe_characters

# The provenance's builder for command-line builds (the console names itself by its URL).
CLI_BUILDER_ID = "urn:b2i:cli"
DEFAULT_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
KINDS = ("jar", "war", "binary")


def event_printer(stream: TextIO) -> Callable[[Event], None]:
    """Return an EventSink that prints each event's line to STREAM."""

    def sink(event: Event) -> None:
        line = terminal_line(event)
        if line is not None:
            # One event, one line: user data in it (file or entry names) cannot forge another.
            print(escape_unsafe_characters(line), file=stream, flush=True)

    return sink


def parse_env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """Parse K=V strings; a missing `=` or empty key is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BuildError("build:user:invalid-env", f"--set-env takes KEY=VALUE, not {pair!r}")
        values[key] = value
    return values


def allowed_networks() -> tuple[str, ...]:
    """Return the networks registries may be on: the env setting, else loopback + private.

    `none` allows no loopback or private network at all: public registries only (what the
    console's worker does with an empty setting, and hands on to its build Jobs)."""
    configured = os.environ.get("B2I_ALLOWED_REGISTRY_NETWORKS", "")
    if configured.strip().lower() == NO_NETWORKS:
        return ()
    networks = tuple(item.strip() for item in configured.split(",") if item.strip())
    return networks or DEFAULT_NETWORKS


def registry_proxy(args: argparse.Namespace) -> ProxyConfig:
    """Return the proxy settings: the flags (or B2I_* variables), else the standard variables."""
    return proxy_config(os.environ, proxy=args.proxy, no_proxy=args.no_proxy)


def docker_config_path(given: str | None) -> Path | None:
    """Return the docker config to read credentials from, if any."""
    if given:
        return Path(given)
    directory = os.environ.get("DOCKER_CONFIG")
    default = Path(directory) / "config.json" if directory else Path.home() / ".docker/config.json"
    return default if default.is_file() else None


def access_resolver(args: argparse.Namespace) -> Callable[[str], RegistryAccess]:
    """Return how to reach a registry host: scheme and TLS trust from the flags, credentials
    from the docker config."""
    config = docker_config_path(args.docker_config)
    ca_bundle = read_ca_file(args.ca_file) if args.ca_file else None

    def access_for(host: str) -> RegistryAccess:
        credentials = credentials_from_docker_config(config, host) if config else None
        if host in DOCKER_HUB_ALIASES:  # HTTPS with the system's trust: the flags are for ours
            return RegistryAccess(credentials=credentials)
        return RegistryAccess(
            scheme="http" if args.insecure else "https",
            credentials=credentials,
            verify=not args.skip_tls_verify,
            ca_bundle=ca_bundle,
        )

    return access_for


def read_ca_file(path: str) -> str:
    """Return the PEM text of a CA file, refusing what holds no certificate."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        message = f"cannot read the CA file {path}: {error}"
        raise BuildError("build:user:bad-ca-file", message) from error
    if "-----BEGIN CERTIFICATE-----" not in text:
        message = f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        raise BuildError("build:user:bad-ca-file", message)
    return text


def layer_cache_dir(given: str | None) -> Path | None:
    """Return the layer cache directory: --layer-cache, $B2I_LAYER_CACHE, else ~/.cache/b2i/layers.

    "off" (or an empty B2I_LAYER_CACHE) disables the cache.
    """
    configured = given if given is not None else os.environ.get("B2I_LAYER_CACHE")
    if configured is None:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "b2i" / "layers"
    return None if configured in ("", "off") else Path(configured)


def build_request(args: argparse.Namespace) -> BuildRequest:
    """Turn the parsed `build` arguments into a BuildRequest."""
    artifact = Path(args.artifact)
    if not artifact.is_file():
        raise BuildError("build:user:no-artifact", f"{artifact} is not a readable file")
    return BuildRequest(
        artifact=artifact,
        target=args.to,
        environment=args.env,
        base_image=args.base,
        env=parse_env_pairs(args.set_env),
        port=args.port,
        platform=args.platform,
        expected_kind=args.kind,
        context=args.context,
        access_for=access_resolver(args),
        allowed_networks=allowed_networks(),
        proxy=registry_proxy(args),
        mirror=args.mirror,
        source=args.source or "",
        exploded=None if args.split_layers else False,
        layer_cache=layer_cache_dir(args.layer_cache),
        retry_budget=args.retry_budget,
        supply_chain=supply_chain_options(args),
    )


def supply_chain_options(args: argparse.Namespace) -> SupplyChainOptions | None:
    """Return the SBOM/provenance options of `--sbom` (the builder: this command's version)."""
    if not args.sbom:
        return None
    return SupplyChainOptions(builder_id=CLI_BUILDER_ID, invocation_id=args.invocation_id)


def print_result(result: BuildResult, err: TextIO, out: TextIO) -> None:
    """Print the summary (stderr) and the pushed reference (stdout, last line)."""
    for tag in result.tags:
        print(f"    tagged {tag}", file=err)
    print(
        f"    image {human_bytes(result.compressed_size)} compressed; uploaded "
        f"{result.layers_pushed} layer(s), {human_bytes(result.bytes_pushed)}; reused "
        f"{result.layers_reused} layer(s), {human_bytes(result.bytes_reused)}",
        file=err,
    )
    if result.sbom_referrer_digest:
        count = len((result.sbom_document or {}).get("components") or [])
        print(
            f"    SBOM ({count} components) {result.sbom_referrer_digest}, provenance "
            f"{result.provenance_referrer_digest}: referrers via the {result.referrers_via}",
            file=err,
        )
    print(result.reference, file=out, flush=True)


def command_build(args: argparse.Namespace) -> int:
    """Run `b2i build`."""
    request = build_request(args)
    if args.skip_tls_verify:
        print("b2i: warning: registry TLS certificates are not checked", file=sys.stderr)
    result = build_image(request, on_event=event_printer(sys.stderr))
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, default=str), flush=True)
        return 0
    print_result(result, sys.stderr, sys.stdout)
    return 0


def command_inspect(args: argparse.Namespace) -> int:
    """Run `b2i inspect`: what the artifact is and which environment fits it."""
    artifact = Path(args.artifact)
    if not artifact.is_file():
        raise BuildError("build:user:no-artifact", f"{artifact} is not a readable file")
    inspection = inspect_artifact(artifact, args.kind, context=args.context)
    if args.json:
        print(json.dumps(inspection.as_dict(), indent=2, default=str))
        return 0
    print(f"file:        {inspection.filename} ({human_bytes(inspection.size)})")
    print(f"sha256:      {inspection.sha256.removeprefix('sha256:')}")
    print(f"kind:        {inspection.kind}")
    print(f"summary:     {inspection.summary()}")
    print(f"environment: {inspection.recommended_environment} (recommended)")
    for warning in inspection.warnings:
        print(f"warning:     {warning}")
    return 0


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of `b2i`."""
    root = argparse.ArgumentParser(prog="b2i", description="Build OCI images from artifacts.")
    commands = root.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build an image and push it")
    build.add_argument("artifact", help="the JAR, WAR or Linux binary")
    build.add_argument("--to", required=True, metavar="REGISTRY/REPO:TAG", help="push target")
    build.add_argument(
        "--env",
        metavar="NAME",
        help="build environment: placement, command, parameters (default: recommended)",
    )
    build.add_argument(
        "--from", dest="base", metavar="BASE", help="base image to build on (default: the env's)"
    )
    build.add_argument("--port", type=int, help="port to expose")
    build.add_argument("--set-env", action="append", default=[], metavar="K=V")
    build.add_argument(
        "--platform",
        default="linux/amd64",
        metavar="OS/ARCH|all",
        help="base platform; 'all' (JAR/WAR): every linux platform of the base, as an index",
    )
    build.add_argument("--insecure", action="store_true", help="plain HTTP to registries")
    build.add_argument("--docker-config", metavar="PATH", help="docker config.json with auths")
    build.add_argument(
        "--ca-file", metavar="PEM", help="trust these CA certificates for HTTPS registries"
    )
    build.add_argument(
        "--skip-tls-verify",
        action="store_true",
        help="HTTPS without certificate checks (not for Docker Hub); prefer --ca-file",
    )
    build.add_argument("--mirror", default=os.environ.get("B2I_REGISTRY_MIRROR") or None)
    build.add_argument(
        "--proxy",
        default=os.environ.get("B2I_REGISTRY_PROXY") or None,
        metavar="URL|off",
        help="HTTP(S) proxy for every registry ('off': none; default $B2I_REGISTRY_PROXY, "
        "else HTTPS_PROXY/HTTP_PROXY)",
    )
    build.add_argument(
        "--no-proxy",
        default=os.environ.get("B2I_NO_PROXY"),
        metavar="LIST",
        help="hosts, .domains, host:port, IPs, CIDRs reached directly, replacing NO_PROXY and "
        "the loopback default ('' proxies everything)",
    )
    build.add_argument(
        "--retry-budget",
        type=float,
        default=float(os.environ.get("B2I_REGISTRY_RETRY_BUDGET") or 180),
        metavar="SECONDS",
        help="time a flaky registry may cost (failed requests and waits) before the push "
        "fails (default $B2I_REGISTRY_RETRY_BUDGET or 180)",
    )
    build.add_argument("--source", help="org.opencontainers.image.source label")
    build.add_argument(
        "--split-layers",
        action="store_true",
        help="split JARs/WARs into dependency and application layers where the env allows "
        "(plain JARs as two JARs, Spring Boot JARs and WARs exploded)",
    )
    build.add_argument(
        "--layer-cache",
        metavar="DIR",
        help="layer cache directory ('off' disables; default $B2I_LAYER_CACHE or ~/.cache/b2i)",
    )
    build.add_argument(
        "--sbom",
        action="store_true",
        help="also push a CycloneDX SBOM and an in-toto provenance as referrers of the image",
    )
    build.add_argument(
        "--invocation-id", default="", help="the run's name in the provenance (with --sbom)"
    )
    build.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    for sub in (build, commands.add_parser("inspect", help="describe an artifact")):
        sub.add_argument("--kind", choices=KINDS, help="expected kind (checked, not trusted)")
        sub.add_argument("--context", help="WAR context name (default: file name; ROOT for /)")
    inspect = commands.choices["inspect"]
    inspect.add_argument("artifact")
    inspect.add_argument("--json", action="store_true")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    args = parser().parse_args(argv)
    handler = command_build if args.command == "build" else command_inspect
    try:
        return handler(args)
    except (*USER_ERRORS, BuildError) as error:
        print(f"b2i: error: {error.code}: {error.message}", file=sys.stderr)
    except BuildCancelled:
        print("b2i: error: build:cancelled: the build was interrupted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("b2i: error: build:cancelled: interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        print(f"b2i: error: build:io: {error}", file=sys.stderr)
    except Exception as error:
        # A bug of ours: still one line (scripts parse it), the traceback on request.
        if os.environ.get("B2I_DEBUG"):
            raise
        print(
            f"b2i: error: build:internal: {type(error).__name__}: {error} "
            "(set B2I_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 3
    return 1


if __name__ == "__main__":
    sys.exit(main())
