"""builders/packaging and builders/oci import without Django: they are the framework-free engine."""

import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import importlib, pkgutil, sys
import builders.oci, builders.packaging
names = []
for package in (builders.oci, builders.packaging):
    for module in pkgutil.iter_modules(package.__path__):
        names.append(f"{package.__name__}.{module.name}")
        importlib.import_module(names[-1])
leaked = sorted(name for name in sys.modules if name == "django" or name.startswith("django."))
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
    assert int(count) >= 10  # both packages were actually walked
    assert leaked == ""
