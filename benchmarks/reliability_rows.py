"""The one table of the reliability suite: each part (a process of its own) appends its rows
here as JSON lines when benchmarks/reliability.py asks it to (B2I_RELIABILITY_ROWS names the
file); reliability.py then prints them all as one Markdown table."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

ROWS_FILE = "B2I_RELIABILITY_ROWS"
HEADER = ("scenario", "trials", "figure", "goal", "met")


def record(rows: list[Any]) -> None:
    """Append ROWS (dataclasses with HEADER's fields) to the suite's file, when one is named."""
    path = os.environ.get(ROWS_FILE)
    if not path:
        return
    with Path(path).open("a") as out:
        for row in rows:
            fields = asdict(row) if is_dataclass(row) and not isinstance(row, type) else dict(row)
            out.write(json.dumps({name: fields[name] for name in HEADER}) + "\n")


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    for row in rows:
        met = "yes" if row["met"] else "**no**"
        cells = [str(row["scenario"]), str(row["trials"]), str(row["figure"]), str(row["goal"])]
        lines.append("| " + " | ".join([*cells, met]) + " |")
    return "\n".join(lines)
