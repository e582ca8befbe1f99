"""The whole project type-checks with mypy --strict: the image engine (b2i/), the Django apps
(with the django-stubs and djangorestframework-stubs plugins), the benchmarks and manage.py -
the files and flags are pyproject.toml's [tool.mypy]. The tests themselves are not checked.

mypy keeps its cache in .mypy_cache: a fresh checkout (CI) checks everything (~20 s of CPU),
a run after that only what changed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.fixtures.processes import venv_bin

REPO = Path(__file__).resolve().parents[2]
CHECKED = ["b2i", "b2i_console", "projects", "builders", "workloads", "notifications"]
CHECKED += ["audit", "benchmarks"]
IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[^\]]*\])?(?P<rest>.*)$")


def test_the_whole_project_type_checks_strictly() -> None:
    result = subprocess.run(
        [venv_bin("mypy")], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")


def test_mypy_checks_every_package_strictly() -> None:
    config = (REPO / "pyproject.toml").read_text()
    files = re.search(r"^files = \[(.*)\]$", config, re.MULTILINE)
    assert files is not None
    assert set(CHECKED) <= set(re.findall(r'"([^"]+)"', files.group(1)))
    assert re.search(r"^\[tool\.mypy\]\n(?:[^\[].*\n)*strict = true$", config, re.MULTILINE)


def unexplained_ignores(path: Path) -> list[str]:
    """Lines (path:number: text) of PATH whose `type: ignore` lacks an error code, or a
    reason: a comment after it on the same line or a comment line just above."""
    found = []
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        ignore = IGNORE.search(line)
        if ignore is None:
            continue
        above = next((text.strip() for text in reversed(lines[:number]) if text.strip()), "")
        explained = "#" in ignore["rest"] or above.startswith("#")
        if not ignore["codes"] or not explained:
            found.append(f"{path}:{number + 1}: {line.strip()}")
    return found


def test_every_type_ignore_names_its_error_code_and_says_why() -> None:
    sources = [path for package in CHECKED for path in sorted((REPO / package).rglob("*.py"))]
    assert len(sources) > 100
    unexplained = [line for path in sources for line in unexplained_ignores(path)]
    assert unexplained == []


def test_the_ignore_check_tells_explained_from_unexplained(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "a = 1  # type: ignore\n"
        "b = 1  # type: ignore[misc]\n"
        "c = 1  # type: ignore[misc]  # the library says so\n"
        "# the library says so\n"
        "d = 1  # type: ignore[misc]\n"
    )
    found = unexplained_ignores(sample)
    assert [line.split(": ", 1)[1] for line in found] == [
        "a = 1  # type: ignore",
        "b = 1  # type: ignore[misc]",
    ]
