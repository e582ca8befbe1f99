"""The `b2i` console script: `b2i.cli.main` in a process of its own.

A process that runs one command and exits can tune the garbage collector in ways a long-lived
caller of `main` (the benchmark's warm worker, the tests) must not: the ~100k objects the
imports create live until exit, so they are not scanned while being created (gc off during the
imports) and are then frozen, which also spares the collection at interpreter exit.
Together ~30 ms of a small build's CLI run.

httpx's package import also tries its own command-line client (`httpx._main`: click, pygments,
rich) and keeps a stub when that fails; b2i never calls it, so this process marks it absent
up front and gets the stub without importing click and pygments (~12 ms; rich is not even
installed here, so nothing changes but the time). Likewise httpcore imports anyio (installed as
an httpx dependency) for its async backend and locks only, and does without it when it is
missing; b2i's client is synchronous, so this process marks anyio absent too (~2 ms). Only
this process: the console is untouched.

Once `main` has returned (every build file closed, its temporary directories removed, its
threads joined), the process leaves with `os._exit` after flushing its output: the
interpreter's teardown would only free objects the kernel frees anyway, ~40 ms after a fat
jar's build (its ~26,000 layer entries), ~8 ms after a tiny one. Errors take the normal exit.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import NoReturn


def launch() -> NoReturn:
    """Import the CLI with the collector paused, freeze what the imports made, run, exit."""
    # None in sys.modules makes an import of that name fail at once (the import system's
    # documented behaviour); typeshed types the values as modules only.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    sys.modules.setdefault("anyio", None)  # type: ignore[arg-type]  # the same
    gc.disable()
    try:
        # Imported here, not at the top: only with the collector paused (start-up speed).
        from b2i.cli import main
    finally:
        gc.enable()
    gc.freeze()
    code = main()
    _flush_output()
    os._exit(code)


def _flush_output() -> None:
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()  # what the normal exit does for handlers with buffers
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing reaches it
            stream.flush()


if __name__ == "__main__":
    launch()
