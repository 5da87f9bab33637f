"""Reading the classification data files (TOML) with errors that name the file and line."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from hfscan.errors import DataFileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """(parsed table, source text); a missing or malformed file raises DataFileError."""
    from hfscan.fileio import read_text

    text = read_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise DataFileError(str(path), int(m.group(1)) if m else None, f"invalid TOML: {exc}") from None


def line_of(text: str, table: str, name: str) -> int | None:
    """The line of the ``[table.name]`` header in ``text`` (quoted or bare), for error messages."""
    pattern = re.compile(rf'^[ \t]*\[[ \t]*{re.escape(table)}\s*\.\s*"?{re.escape(name)}"?\s*\]', re.M)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None
