"""The console's outbound proxy for registries and artifact URLs, from its settings.

B2I_REGISTRY_PROXY (a URL, or `off`) and B2I_NO_PROXY (a bypass list, taken as given) win;
unset, the worker's standard HTTPS_PROXY / HTTP_PROXY / NO_PROXY apply, loopback bypassed
(the rules: b2i.oci.proxy). A bad URL fails the build with `registry:proxy-invalid`.
"""

from __future__ import annotations

import os

from django.conf import settings

from b2i.oci.proxy import OFF, ProxyConfig, bypass_list, proxy_config


def registry_proxy() -> ProxyConfig:
    """Return the proxy settings for outbound registry (and artifact URL) traffic."""
    return proxy_config(
        os.environ,
        proxy=settings.B2I_REGISTRY_PROXY or None,
        no_proxy=settings.B2I_NO_PROXY,
    )


def registry_no_proxy() -> str:
    """Return the bypass list `registry_proxy` applies, as text (for a build Job's pod)."""
    return bypass_list(os.environ, settings.B2I_NO_PROXY)


def registry_proxy_off() -> bool:
    """Tell whether B2I_REGISTRY_PROXY says `off`: no proxy, whatever the environment says."""
    return (settings.B2I_REGISTRY_PROXY or "").strip().lower() == OFF
