"""Helpers for the sharding tests: the hfscan CLI as a process, a tiny real sweep, per-check statuses of a run."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from hfscan.cache.store import Store
from hfscan.harness.records import RunInfo

ROOT = Path(__file__).resolve().parents[1]
#: A handful of cheap model types and checks: every sharding test sweeps these.
TINY = ("bert", "gpt2", "albert", "distilbert")
TINY_ARGS = (*TINY, "--checks", "build,forward", "--jobs", "1")


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "COLUMNS": "160", **extra}


def hfscan(*args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "hfscan.cli", *args], cwd=ROOT, env=env(**extra),
                       capture_output=True, text=True, timeout=900)
    assert not check or p.returncode in (0, 1), p.stdout + p.stderr
    return p


def hfscan_on_path(bin_dir: Path) -> Path:
    """An `hfscan` executable in ``bin_dir`` that runs this checkout's CLI, as the jobs call it."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "hfscan"
    exe.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m hfscan.cli "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def statuses(store_path: Path, run_id: int | None = None) -> dict[tuple[str, str], str]:
    """{(model type, check): status} of a run (default: the store's latest)."""
    with Store(store_path) as store:
        run = store.run(run_id) if run_id is not None else store.latest_run()
        return {(r.model_type, r.check): str(r.status) for r in store.results(run.id)}


def latest_run(store_path: Path) -> RunInfo:
    with Store(store_path) as store:
        return store.latest_run()


@dataclass(frozen=True)
class Reference:
    store: Path
    statuses: dict[tuple[str, str], str]


def reference_run(store: Path) -> Reference:
    hfscan("run", *TINY_ARGS, "--store", str(store))
    found = statuses(store)
    assert {mt for mt, _ in found} == set(TINY)
    return Reference(store, found)
