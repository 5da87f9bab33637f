"""Modeling-code line coverage of one job: the share of its model type's modeling module lines that its checks ran.

``hfscan run --coverage`` runs jobs through :func:`run_job`, which wraps the smoke job function in a coverage.py
measurement restricted to the modeling module of the tested class and the modeling modules of its package that it
imports (:func:`modeling_files`). Lines that run when
a module is imported (module and class bodies, ``def`` and decorator lines) count as run: a worker imports a module
once for many jobs, so only the lines inside functions say what a job exercised. Each result the job yields carries
the coverage measured so far (``details["coverage"]``: per file, its runnable lines and the line numbers run), so the
job's last result holds the job's figure, a crash mid-job keeps what was measured before it, and the jobs of one type
(``--tasks all``) add up to the union of their lines (:func:`hfscan.reports.linecov.share`).
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from hfscan.harness.records import CheckResult, Job

#: The job function `hfscan run --coverage` uses (part of the reuse key, like every job function).
COVERAGE_JOB_FN = "hfscan.harness.linecov:run_job"


def modeling_files(model_class: type) -> list[str]:
    """The modeling module that defines ``model_class`` and the modeling modules of its package it imports, directly
    or not (``from .modeling_x import ...``): a package that holds several model types (data2vec's text, audio and
    vision; rt_detr and its ResNet backbone) holds a modeling module per type, and a type is measured on its own."""
    import inspect

    source = inspect.getsourcefile(model_class)
    if not source:
        return []
    if not Path(source).name.startswith("modeling_"):  # a class defined elsewhere: its package's modeling modules
        return sorted(str(p) for p in Path(source).parent.glob("modeling_*.py"))
    files, todo = set(), [Path(source)]
    while todo:
        path = todo.pop()
        if path in files or not path.is_file():
            continue
        files.add(path)
        todo.extend(path.parent / f"{name}.py" for name in _package_imports(str(path)))
    return sorted(str(p) for p in files if p.name.startswith("modeling_"))


@lru_cache(maxsize=None)
def _package_imports(path: str) -> tuple[str, ...]:
    """The ``modeling_*`` modules of its own package that the module at ``path`` imports (relative imports)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    return tuple(sorted({node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                         and node.level == 1 and node.module and node.module.startswith("modeling_")}))


@lru_cache(maxsize=None)
def runtime_lines(path: str) -> frozenset[int]:
    """Lines of statements inside function bodies: those only a call runs (not the import)."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.stmt):
                        lines.add(sub.lineno)
    return frozenset(lines)


def measured(cov: Any, files: list[str]) -> dict:
    """Per modeling file: its runnable lines (inside functions) and those run, from coverage.py's analysis."""
    out = {}
    for path in files:
        _, statements, _, missing, _ = cov.analysis2(path)
        runtime = runtime_lines(path)
        body = {ln for ln in statements if ln in runtime}
        out[f"{Path(path).parent.name}/{Path(path).name}"] = {"lines": len(body), "run": sorted(body - set(missing))}
    return {"files": out}


def run_job(job: Job) -> Iterator[CheckResult]:
    """The smoke job function with the modeling modules' line coverage recorded in every result's details."""
    import json

    import coverage

    from hfscan.harness import smoke

    try:
        files = modeling_files(smoke._model_class(job.model_class, job.model_type))
    except Exception:  # noqa: BLE001 - no class to measure: the job runs (and reports why) unmeasured
        files = []
    if not files:
        yield from smoke.run_job(job)
        return
    cov = coverage.Coverage(data_file=None, include=files, branch=False, config_file=False)
    cov.start()
    try:
        for result in smoke.run_job(job):
            cov.stop()
            details = {**result.detail, "coverage": measured(cov, files)}
            yield result.with_(details=json.dumps(details))
            cov.start()
    finally:
        cov.stop()
