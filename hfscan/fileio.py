"""Reading and writing the files a user names: one helper each, used by every reader and writer.

:func:`write_text` never changes what a path *is*: a regular file (or a new
one) is replaced atomically (a temp file renamed over it, so a failed write
leaves the old file whole), with the mode the umask gives a new file (an
existing file keeps its own); a symlink is followed to its target; anything
else (a device such as ``/dev/null`` or ``/dev/stdout``, a FIFO) is written in
place.  :func:`read_text` reads a UTF-8 text file or raises a ``file:line``
error.  Both raise :class:`hfscan.errors.UsageError` subclasses (exit 2) with
one readable line.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hfscan.errors import DataFileError, UsageError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_regular(target: Path, text: str) -> None:
    """Write ``text`` to a temp file beside ``target`` and rename it over it."""
    try:
        mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` without changing what the path is (see the module doc)."""
    path = Path(path)
    try:
        try:
            kind = os.stat(path).st_mode  # what the path is, through any symlink
        except FileNotFoundError:
            kind = None
        if kind is not None and stat.S_ISDIR(kind):
            raise IsADirectoryError(21, "Is a directory")
        if kind is not None and not stat.S_ISREG(kind):
            with open(path, "w", encoding="utf-8") as fh:  # a device, FIFO or /proc/self/fd link: written in place
                fh.write(text)
            return
        target = Path(os.path.realpath(path))  # a symlink's target is replaced: the link itself stays a link
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace_regular(target, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def read_text(path: str | Path) -> str:
    """The text of a UTF-8 file; unreadable or not UTF-8 is a :class:`DataFileError` (``file:line: what``)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataFileError(str(path), line, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column})") from None
