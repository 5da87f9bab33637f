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
    """A directory for derived, rebuildable data (discovery and trait caches)."""
    d = home() / "cache" / kind
    d.mkdir(parents=True, exist_ok=True)
    return d
