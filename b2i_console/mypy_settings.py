"""The settings django-stubs' mypy plugin imports (pyproject.toml [tool.django-stubs]): the
real ones, with a placeholder SECRET_KEY so that type checking needs no deployment secrets.
Never used to run the console."""

import os

os.environ.setdefault("SECRET_KEY", "type-checking-only-never-used-to-sign-anything")

from b2i_console.settings import *  # noqa: F403 (the real settings, read after the key)
