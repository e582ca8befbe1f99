"""What changed between two runs' components: added, removed and upgraded packages, a package
being its purl without the version (issue 17: "changed since run N")."""

from __future__ import annotations

import pytest

from builders.supply_chain.diff import compare, summary, version_key
from builders.supply_chain.documents import Component


def lib(artifact: str, version: str, group: str = "org.example") -> Component:
    return Component("library", artifact, group, version, f"pkg:maven/{group}/{artifact}@{version}")


def deb(name: str, version: str) -> Component:
    return Component("os", name, "", version, f"pkg:deb/debian/{name}@{version}?arch=amd64")


BEFORE = [lib("commons-lang3", "3.14.0"), lib("commons-cli", "1.6.0"), deb("libc6", "2.36-9")]


def test_nothing_changed_between_identical_component_lists() -> None:
    assert compare(BEFORE, list(reversed(BEFORE))).counts == (0, 0, 0)


def test_one_upgraded_library_is_exactly_one_upgrade() -> None:
    after = [lib("commons-lang3", "3.17.0"), *BEFORE[1:]]
    changes = compare(BEFORE, after)
    assert (changes.added, changes.removed) == ([], [])
    [upgrade] = changes.upgraded
    assert (upgrade.before.version, upgrade.after.version) == ("3.14.0", "3.17.0")
    assert upgrade.direction == "up"
    assert summary(changes.counts) == "+0 \u22120 \u21911"


def test_added_removed_and_upgraded_together_sorted_by_source_then_name() -> None:
    after = [
        lib("commons-lang3", "3.17.0"),
        lib("slf4j-api", "2.0.16", "org.slf4j"),
        lib("guava", "33.0.0-jre", "com.google.guava"),
        deb("libc6", "2.36-9+deb12u7"),
    ]
    changes = compare(BEFORE, after)
    assert [c.name for c in changes.added] == ["guava", "slf4j-api"]
    assert [c.name for c in changes.removed] == ["commons-cli"]
    assert [u.after.name for u in changes.upgraded] == ["commons-lang3", "libc6"]
    assert changes.counts == (2, 1, 2)
    assert summary(changes.counts) == "+2 \u22121 \u21912"


def test_a_downgrade_is_a_version_change_pointing_down() -> None:
    [change] = compare([lib("a", "1.10.0")], [lib("a", "1.9.2")]).upgraded
    assert change.direction == "down"


def test_same_name_in_another_group_is_another_package() -> None:
    changes = compare([lib("util", "1.0", "com.a")], [lib("util", "1.0", "com.b")])
    assert [c.group for c in changes.added] == ["com.b"]
    assert [c.group for c in changes.removed] == ["com.a"]
    assert changes.upgraded == []


def test_an_os_package_whose_qualifiers_change_is_still_the_same_package() -> None:
    before = [Component("os", "zlib1g", "", "1.2.13", "pkg:deb/debian/zlib1g@1.2.13?distro=12")]
    after = [Component("os", "zlib1g", "", "1.3.1", "pkg:deb/debian/zlib1g@1.3.1?distro=13")]
    assert compare(before, after).counts == (0, 0, 1)


def test_two_versions_of_one_library_are_not_guessed_into_upgrades() -> None:
    """A fat JAR may embed one library twice: 2 old versions -> 1 new is 2 removed, 1 added."""
    before = [lib("asm", "9.5"), lib("asm", "9.6")]
    after = [lib("asm", "9.7")]
    changes = compare(before, after)
    assert changes.counts == (1, 2, 0)
    # One of the two kept, one bumped: an upgrade of the one that changed.
    assert compare(before, [lib("asm", "9.5"), lib("asm", "9.7")]).counts == (0, 0, 1)


def test_duplicates_of_one_version_count_once() -> None:
    assert compare([], [lib("a", "1"), lib("a", "1")]).counts == (1, 0, 0)


def test_components_without_purl_are_matched_by_source_group_and_name() -> None:
    before = [Component("application", "shop.jar", "", "1.0")]
    after = [Component("application", "shop.jar", "", "1.1")]
    assert compare(before, after).counts == (0, 0, 1)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.9", "1.10"),
        ("3.9.1", "3.14.0"),
        ("2.0-rc1", "2.0.1"),
        ("2.36-9", "2.36-9+deb12u7"),
        ("v1.2.3", "v1.2.10"),
        ("1:2.0", "1:10.0"),
    ],
)
def test_versions_order_numerically(lower: str, higher: str) -> None:
    assert version_key(lower) < version_key(higher)
