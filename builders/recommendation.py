"""The environment to preselect for an artifact: the best fit among those that can work now.

The engine's recommendation (`b2i.packaging.environments.recommend_environment`) only knows the
built-in environments and nothing about the network. Here every enabled environment of the
database competes, in this order:
1. no fit problem (bytecode newer than the JVM, wrong servlet namespace, a dynamic binary or a
   script on a base without libc, a script interpreter the base lacks);
2. known available before still being checked (known unavailable ones never compete);
3. the engine's choice (so with internet access nothing changes);
4. for JVM artifacts, the oldest Java able to run the bytecode; for static binaries, a base
   without libc (smallest);
5. the name, so the answer is stable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from builders.availability import AVAILABLE, UNAVAILABLE, Availability
from builders.models import BuildEnvironment


def fit_problems(inspection: Mapping[str, Any], environment: BuildEnvironment) -> list[str]:
    """Return why ENVIRONMENT would not run the inspected artifact (empty: it fits)."""
    spec, problems = environment.spec, []
    needed, runtime = inspection.get("java_release"), spec.get("java_release")
    if needed and runtime and needed > runtime:
        problems.append("java-too-old")
    namespace, provided = inspection.get("servlet_namespace"), spec.get("servlet_namespace")
    if namespace and provided and namespace != provided:
        problems.append("servlet-namespace")
    binary = inspection.get("binary") or {}
    has_libc = spec.get("provides_libc", True)
    if binary.get("linkage") in ("dynamic", "script") and not has_libc:
        problems.append("no-libc")
    interpreters = spec.get("interpreters") or []
    script = binary.get("linkage") == "script"
    if script and interpreters and binary.get("interpreter") not in interpreters:
        problems.append("no-interpreter")
    return problems


def _preference(
    inspection: Mapping[str, Any], environment: BuildEnvironment, availability: Availability
) -> tuple[Any, ...]:
    spec = environment.spec
    needed = inspection.get("java_release") or 8
    java_gap = (spec.get("java_release") or 0) - needed if spec.get("java_release") else 0
    static = (inspection.get("binary") or {}).get("linkage") == "static"
    return (
        bool(fit_problems(inspection, environment)),
        availability.state != AVAILABLE,
        environment.name != inspection.get("recommended_environment"),
        java_gap if java_gap >= 0 else 1000,
        static and spec.get("provides_libc", True),
        environment.name,
    )


def recommend_available(
    inspection: Mapping[str, Any],
    environments: Iterable[BuildEnvironment],
    availability: Mapping[str, Availability],
) -> str | None:
    """Return the name of the environment to preselect, or None when none can take it."""
    kind = inspection.get("kind")
    candidates = [
        env
        for env in environments
        if env.enabled
        and kind in env.artifact_kinds
        and availability.get(env.name, Availability("checking")).state != UNAVAILABLE
    ]
    if not candidates:
        return None
    choice = min(
        candidates,
        key=lambda env: _preference(
            inspection, env, availability.get(env.name) or Availability("checking")
        ),
    )
    return choice.name
