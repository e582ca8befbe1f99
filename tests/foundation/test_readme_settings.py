"""The README's settings table lists every environment variable the console reads: the env_*()
calls of b2i_console/ (settings.py and the modules it reads settings through) and what `make run`
and the Procfile take from the environment."""

from __future__ import annotations

import re

from tests.fixtures.celery_worker import ROOT

SETTINGS_READ = re.compile(r"\benv_(?:str|int|bool|list)\(\s*\"([A-Z0-9_]+)\"")
RUN_DEFAULTED = re.compile(r"^export ([A-Z0-9_]+)=\$\{\1:-", re.MULTILINE)
PROCFILE_USED = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)")
TABLE_ROW = re.compile(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|", re.MULTILINE)


def documented() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return {name for row in TABLE_ROW.findall(readme) for name in re.findall(r"`(\w+)`", row)}


def read_by_the_console() -> set[str]:
    # settings.py and the modules it reads groups of settings with (ldap_settings.py, ...).
    names = set()
    for module in (ROOT / "b2i_console").glob("*.py"):
        names |= set(SETTINGS_READ.findall(module.read_text()))
    names |= set(RUN_DEFAULTED.findall((ROOT / "scripts" / "run.sh").read_text()))
    return names | set(PROCFILE_USED.findall((ROOT / "Procfile").read_text()))


def test_every_setting_is_in_the_readme_table() -> None:
    names = read_by_the_console()
    assert {"PORT", "DATABASE_URL", "B2I_MAX_ARTIFACT_BYTES"} <= names  # the patterns still match
    assert sorted(names - documented()) == []
