"""What changed between two runs' components: added, removed and upgraded packages.

A package is its identity (`Component.identity`: the purl without its version). One identity in
both runs with another version is an upgrade (or a downgrade: `direction` says which); an
identity only in the newer run is added, only in the older one removed. A JAR may embed two
versions of one library: versions on both sides that do not pair one-to-one are reported as
removed and added, not guessed into upgrades.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from builders.supply_chain.documents import Component

VERSION_PART = re.compile(r"(\d+)|([A-Za-z]+)")


@dataclass(frozen=True)
class Upgrade:
    before: Component
    after: Component

    @property
    def direction(self) -> str:
        """'up' or 'down' by a numeric-aware comparison of the versions ('up' when unclear)."""
        before, after = version_key(self.before.version), version_key(self.after.version)
        return "down" if after < before else "up"


@dataclass
class Changes:
    added: list[Component] = field(default_factory=list)
    removed: list[Component] = field(default_factory=list)
    upgraded: list[Upgrade] = field(default_factory=list)

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.added), len(self.removed), len(self.upgraded)


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions like people do: 1.10 after 1.9, 3.14.0 after 3.9.1; letters before digits
    at one position, so 2.0-rc1 sorts before 2.0.1."""
    return tuple(
        (1, int(number)) if number else (0, word.lower())
        for number, word in VERSION_PART.findall(version)
    )


def compare(older: Iterable[Component], newer: Iterable[Component]) -> Changes:
    """Return what changed from OLDER to NEWER (each sorted by source, then name)."""
    before, after = _by_identity(older), _by_identity(newer)
    changes = Changes()
    for identity in sorted(before.keys() | after.keys()):
        _compare_package(before.get(identity, {}), after.get(identity, {}), changes)
    order = _display_order
    changes.added.sort(key=order)
    changes.removed.sort(key=order)
    changes.upgraded.sort(key=lambda upgrade: order(upgrade.after))
    return changes


def _by_identity(components: Iterable[Component]) -> dict[str, dict[str, Component]]:
    """identity -> version -> component (one component per version of a package)."""
    found: dict[str, dict[str, Component]] = defaultdict(dict)
    for component in components:
        found[component.identity].setdefault(component.version, component)
    return found


def _compare_package(
    before: dict[str, Component], after: dict[str, Component], changes: Changes
) -> None:
    gone = [before[version] for version in before if version not in after]
    new = [after[version] for version in after if version not in before]
    if len(gone) == 1 and len(new) == 1:
        changes.upgraded.append(Upgrade(gone[0], new[0]))
        return
    changes.removed.extend(gone)
    changes.added.extend(new)


def _display_order(component: Component) -> tuple[str, str, str, tuple[tuple[int, int | str], ...]]:
    return (component.source, component.group, component.name, version_key(component.version))


def summary(counts: tuple[int, int, int]) -> str:
    """The run list's one line: "+1 \u22120 \u21913" (added, removed, upgraded or downgraded)."""
    added, removed, upgraded = counts
    return f"+{added} \u2212{removed} \u2191{upgraded}"
