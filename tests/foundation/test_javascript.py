"""static/js passes ESLint and is formatted by Prettier (package.json pins both; bootstrap's
`npm ci` puts them in node_modules, so this needs no network)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "node_modules" / ".bin"
SOURCES = "static/js"


def run_tool(*command: str, source: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TOOLS / command[0]), *command[1:]],
        cwd=REPO,
        input=source,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_javascript_passes_eslint() -> None:
    result = run_tool("eslint", "--max-warnings", "0", SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_javascript_is_formatted_by_prettier() -> None:
    result = run_tool("prettier", "--check", SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_javascript_line_is_longer_than_the_print_width() -> None:
    long_lines = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / SOURCES).rglob("*.js"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if len(line) > 120
    ]
    assert long_lines == []


def test_eslint_reports_a_real_problem() -> None:
    # Given as if it were a file of static/js, so the project's configuration applies.
    source = "export function f(a) {\n  if (a == 1) return undefinedName;\n}\n"
    result = run_tool(
        "eslint", "--stdin", "--stdin-filename", f"{SOURCES}/sample.js", source=source
    )
    assert result.returncode == 1
    assert "eqeqeq" in result.stdout
    assert "no-undef" in result.stdout
