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

#: Where a TOML syntax error is: tomllib ends its message with "(at line N, column M)" (Python 3.14 also gives
#: it as ``lineno``).
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def toml_error(exc: Exception) -> tuple[int | None, str]:
    """The line a TOML syntax error names (None where it names none: "at end of document") and what is wrong,
    without the position."""
    text = str(exc)
    m = _TOML_POSITION.search(text)
    line = getattr(exc, "lineno", None) or (int(m.group(1)) if m else None)
    return line, text[: m.start()].strip() if m else text


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """(parsed table, source text); a missing or malformed file raises DataFileError."""
    from hfscan.fileio import read_text

    text = read_text(path)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise DataFileError(str(path), toml_error(exc)[0], f"invalid TOML: {exc}") from None


def line_of(text: str, table: str, name: str) -> int | None:
    """The line of the ``[table.name]`` header in ``text`` (quoted or bare), for error messages."""
    pattern = re.compile(rf'^[ \t]*\[[ \t]*{re.escape(table)}\s*\.\s*"?{re.escape(name)}"?\s*\]', re.M)
    m = pattern.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None
