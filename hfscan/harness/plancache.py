"""Planned jobs kept on disk, so an unchanged rerun plans without reading transformers' packages again.

Planning a model type (:func:`hfscan.harness.smoke.plan_jobs`) reads which classes its transformers package
exports and, for a type no auto mapping gives a class, parses its modeling source: a pure function of the
model type's record, the plan's arguments, the installed transformers and the harness's code and data.  The
cache file is named by the installation's discovery key and the harness's code digest
(:func:`hfscan.harness.keys.code_digest`), and each entry by everything else the plan reads, so an entry is
never used once any of that changed.  A damaged file is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from hfscan.records import Job


class PlanCache:
    """{entry key: [job fields]} in one JSON file; :meth:`save` writes it back when something was added."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, list[dict]] = {}
        self.added = False
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text())
                self.entries = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self.entries = {}

    @staticmethod
    def entry_key(record: Any, **arguments: Any) -> str:
        body = json.dumps([record.to_json(), arguments], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def jobs(self, key: str, plan: Callable[[], list[Job]]) -> list[Job]:
        """The jobs stored under ``key``, else those ``plan()`` makes (then stored)."""
        stored = self.entries.get(key)
        if stored is not None:
            try:
                return [Job(**{**fields, "checks": tuple(fields["checks"])}) for fields in stored]
            except (TypeError, KeyError):
                pass  # written by another layout of Job: planned again
        jobs = plan()
        self.entries[key] = [asdict(j) for j in jobs]
        self.added = True
        return jobs

    def save(self) -> None:
        if self.path is None or not self.added:
            return
        try:
            for old in self.path.parent.glob("*.json"):  # plans of other installations or code: never used again
                if old != self.path:
                    old.unlink(missing_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.entries))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs the next run its planning time
