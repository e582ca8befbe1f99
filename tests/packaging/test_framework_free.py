"""Every module of the b2i package imports without Django: it is the framework-free engine."""

import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import importlib, pkgutil, sys
import b2i
names = [info.name for info in pkgutil.walk_packages(b2i.__path__, "b2i.")]
for name in names:
    importlib.import_module(name)
frameworks = ("django", "rest_framework", "celery", "channels", "kombu")
leaked = sorted(n for n in sys.modules if n.split(".")[0] in frameworks)
print(f"{len(names)}|{','.join(leaked)}")
"""


def test_every_engine_module_imports_without_django():
    # A fresh interpreter without DJANGO_SETTINGS_MODULE: nothing may pull Django in.
    result = subprocess.run(
        [sys.executable, "-c", _PROGRAM],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={"PATH": "/usr/bin:/bin"},
    )
    count, leaked = result.stdout.strip().split("|")
    assert int(count) >= 30  # the whole package was actually walked
    assert leaked == ""
