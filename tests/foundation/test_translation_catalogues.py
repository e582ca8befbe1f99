"""zh-Hans is complete by construction: every message the console marks for translation has a
Chinese entry, and every stable error code the server can answer has a translated text in
static/js/messages.js (the pages translate server messages by code). Reads the source only.

Misses this finds used to reach zh users in English: artifact rejections (x.jar is not a zip
archive), build errors of the engine, the validators' field messages, the titles of the
environments `make run` registers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATALOGUES = REPO / "locale" / "zh_Hans" / "LC_MESSAGES"
# Every package of the console (a new app is covered without editing this test).
PYTHON_PACKAGES = sorted(
    path.parent.name
    for path in REPO.glob("*/__init__.py")
    if path.parent.name not in ("tests", "benchmarks")
)
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "N_", "pgettext"}
# The namespaces of the stable error codes (b2i_console.errors.UserError, the engine's errors).
CODE = re.compile(
    r"^(access|artifact|auth|build|builder|conflict|delete|environment|identity|image|kube"
    r"|members|notify|notification|project|reference|registry|request|secret|service|upload"
    r"|validation|workspace)(:[a-z0-9-]+)+$"
)
# Codes made at run time: f"{kind}:name-taken" (projects.services.name_unavailable).
DYNAMIC_CODES = {"project:name-taken", "workspace:name-taken"}
# Titles of environments rows made outside the built-in list, shown on the environment cards.
LOCAL_TITLE = re.compile(r'"([^"]+\((?:local Debian base|local demo base)[^"]*\))"')


def catalogue(name: str) -> dict[str, str]:
    """msgid -> msgstr of a .po file (continuation lines joined; blank lines not relied on)."""
    entries: dict[str, str] = {}
    field, parts = "", {"msgid": "", "msgstr": ""}
    for line in [*(CATALOGUES / name).read_text().splitlines(), 'msgid ""']:
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgstr"):
            if keyword == "msgid" and parts["msgid"]:
                entries[parts["msgid"]] = parts["msgstr"]
            if keyword == "msgid":
                parts = {"msgid": "", "msgstr": ""}
            field, line = keyword, rest
        if line.startswith('"') and field:
            parts[field] += line[1:-1].replace('\\"', '"')
        elif not line.startswith('"'):
            field = "" if keyword not in ("msgid", "msgstr") else field
    return entries


def python_files() -> list[Path]:
    files = [p for package in PYTHON_PACKAGES for p in (REPO / package).rglob("*.py")]
    return [p for p in files if "migrations" not in p.parts]


def python_messages() -> dict[str, str]:
    """Every literal marked for translation in the Python source -> where."""
    found = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in GETTEXT_NAMES
                and node.args
                and isinstance(node.args[-1], ast.Constant)
                and isinstance(node.args[-1].value, str)
            ):
                found[node.args[-1].value] = f"{path.relative_to(REPO)}:{node.lineno}"
    return found


def codes_in_source() -> dict[str, str]:
    found = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and CODE.match(node.value)
            ):
                found[node.value] = f"{path.relative_to(REPO)}:{node.lineno}"
    return found


def javascript_messages() -> dict[str, str]:
    found = {}
    for path in (REPO / "static" / "js").rglob("*.js"):
        text = path.read_text()
        for match in re.finditer(r'gettext\(\s*"((?:[^"\\]|\\.)*)"\s*,?\s*\)', text):
            line = text.count("\n", 0, match.start()) + 1
            found[match.group(1).replace('\\"', '"')] = f"{path.relative_to(REPO)}:{line}"
    return found


def translated_codes() -> set[str]:
    text = (REPO / "static/js/messages.js").read_text()
    table = text[text.index("const MESSAGES") : text.index("});")]
    return set(re.findall(r'^\s+"([a-z:0-9-]+)":', table, re.M))


def test_every_server_message_marked_for_translation_has_chinese() -> None:
    chinese = catalogue("django.po")
    missing = {m: where for m, where in python_messages().items() if not chinese.get(m)}
    assert missing == {}


def test_every_page_message_has_chinese() -> None:
    chinese = catalogue("djangojs.po")
    missing = {m: where for m, where in javascript_messages().items() if not chinese.get(m)}
    assert missing == {}


def test_every_error_code_the_server_answers_is_translated_by_the_pages() -> None:
    source = codes_in_source()
    assert "build:user:not-an-archive" in source and len(source) > 80  # the source was read
    for code in DYNAMIC_CODES:
        assert f'f"{{kind}}:{code.split(":", 1)[1]}"' in (REPO / "projects/services.py").read_text()
    missing = {c: where for c, where in source.items() if c not in translated_codes()}
    missing.update({c: "dynamic" for c in DYNAMIC_CODES - translated_codes()})
    assert missing == {}


def test_titles_of_the_environments_make_run_registers_are_translated() -> None:
    chinese = catalogue("djangojs.po")
    titles = set()
    for path in (REPO / "builders").rglob("*.py"):
        titles |= set(LOCAL_TITLE.findall(path.read_text()))
    assert len(titles) >= 4
    assert {t for t in titles if not chinese.get(t)} == set()


def untranslated_validation_messages() -> list[str]:
    """ValidationError / RegexValidator given a plain (not gettext) text, in the Django apps."""
    found = []
    for path in python_files():
        if path.parts[len(REPO.parts)] == "b2i":
            continue  # the engine has no Django; its errors carry codes
        for node in ast.walk(ast.parse(path.read_text())):
            name = getattr(node, "func", None)
            name = getattr(name, "attr", None) or getattr(name, "id", None)
            if not isinstance(node, ast.Call) or name not in ("ValidationError", "RegexValidator"):
                continue
            messages = node.args[1:2] if name == "RegexValidator" else node.args[:1]
            messages += [k.value for k in node.keywords if k.arg == "message"]
            for message in messages:
                texts = message.values if isinstance(message, ast.Dict) else [message]
                if any(isinstance(text, ast.Constant | ast.JoinedStr) for text in texts):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_field_messages_are_marked_for_translation() -> None:
    # DRF and Django answer field errors in the request's language; a plain literal stays English.
    assert untranslated_validation_messages() == []
