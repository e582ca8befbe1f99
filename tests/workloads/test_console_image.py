"""deploy/Dockerfile and its .dockerignore, checked without building (no container daemon or
base image here). scripts/verify_console_image.sh builds the image with buildah and runs it;
it needs minutes, root and the Debian mirror, so it is not part of the test suite. These
checks keep the defects it found from coming back."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
IGNORE_FILE = ROOT / "deploy" / "Dockerfile.dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in joined.splitlines()
        if line.strip()
    ]


def run_steps() -> list[str]:
    return [arguments for instruction, arguments in instructions() if instruction == "RUN"]


def ignore_patterns() -> list[re.Pattern[str]]:
    """The .dockerignore patterns as regexes: `**` any depth, `*` and `?` within one name."""
    patterns = []
    for line in IGNORE_FILE.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "exceptions are not modelled by this test"
        regex = ""
        for part in re.split(r"(\*\*/|\*\*|\*|\?)", line.strip("/")):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                part, re.escape(part)
            )
        patterns.append(re.compile(regex))
    return patterns


def ignored(path: str) -> bool:
    """True when the path or one of its parent directories matches a pattern."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(p.fullmatch(prefix) for p in ignore_patterns() for prefix in prefixes)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        "var/b2i.sqlite3",
        "builders/__pycache__/cli.cpython-311.pyc",
        # Built inside the image; a developer's compiled catalogue would be taken as "already
        # compiled and up to date" and compilemessages would compile nothing.
        "locale/zh_Hans/LC_MESSAGES/django.mo",
        "locale/zh_Hans/LC_MESSAGES/djangojs.mo",
        "b2i_console.egg-info/PKG-INFO",
        "build/lib/b2i/cli.py",
    ],
)
def test_build_context_leaves_out_local_and_generated_files(path):
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "locale/zh_Hans/LC_MESSAGES/django.po",
        "templates/registration/login.html",
        "static/css/app.css",
        "b2i/cli.py",
        "b2i_console/settings.py",
    ],
)
def test_build_context_keeps_what_the_image_needs(path):
    assert (ROOT / path).exists()
    assert not ignored(path)


def test_project_is_installed_editable_so_code_resolves_to_app():
    # A site-packages copy has BASE_DIR = site-packages: no templates/, locale/ or static/.
    installs = [step for step in run_steps() if re.search(r"pip install .*--no-deps", step)]
    assert installs
    for step in installs:
        assert re.search(r"pip install --no-deps (--editable|-e) \.", step), step


def test_gettext_is_installed_and_removed_in_the_step_that_compiles_messages():
    steps = run_steps()
    with_gettext = [step for step in steps if "gettext" in step]
    (compile_step,) = [step for step in steps if "compilemessages" in step]
    assert with_gettext == [compile_step]
    install = compile_step.index("apt-get install")
    assert install < compile_step.index("compilemessages")
    assert compile_step.index("compilemessages") < compile_step.index("apt-get purge")
    assert "--auto-remove gettext" in compile_step
    assert "rm -rf /var/lib/apt/lists/*" in compile_step
