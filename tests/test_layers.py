"""The pipeline's layering: the cache and the reports import no module of the harness (they share hfscan.records)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import hfscan.cache
import hfscan.reports


def _modules(package) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]


def test_cache_and_reports_import_no_harness_module():
    modules = _modules(hfscan.cache) + _modules(hfscan.reports)
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('hfscan.harness'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_harness_records_are_the_shared_ones():
    import hfscan.harness.records as old
    import hfscan.records as shared

    assert old.CheckResult is shared.CheckResult and old.Job is shared.Job and old.Status is shared.Status
