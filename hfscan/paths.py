"""Where hfscan keeps its files: ``$HFSCAN_HOME``, else the per-user cache dir."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    env = os.environ.get("HFSCAN_HOME")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hfscan"


def default_store_path() -> Path:
    return home() / "hfscan.sqlite"


def cache_dir(kind: str) -> Path:
    """A directory for derived, rebuildable data (discovery and trait caches); one that cannot be made is a usage error."""
    d = home() / "cache" / kind
    try:
        d.mkdir(parents=True, exist_ok=True)
        if not os.access(d, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        from hfscan.errors import UsageError

        why = "not a directory" if isinstance(exc, (FileExistsError, NotADirectoryError)) else (exc.strerror or str(exc))
        raise UsageError(f"HFSCAN_HOME {home()}: cannot make {d} ({why}); set HFSCAN_HOME to a writable directory") from None
    return d
