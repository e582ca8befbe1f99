"""A warm b2i process for the benchmark: runs `b2i` commands read from stdin, one per line.

The console runs builds inside a long-lived Celery worker, where Python's start-up and imports
(~0.2 s of a small build) are paid once. This process does the same for the benchmark: each
input line is a JSON list of `b2i` arguments; each output line is a JSON object with the exit
code, the command's stdout and the CPU seconds the build used in this process.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from b2i import cli  # noqa: E402


def serve(requests: TextIO, replies: TextIO) -> None:
    """Answer each JSON argument list read from REQUESTS with one JSON line on REPLIES."""
    for line in requests:
        arguments = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        cpu = time.process_time()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(arguments)
        reply = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()[-4000:]}
        reply["cpu"] = time.process_time() - cpu
        print(json.dumps(reply), file=replies, flush=True)


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
