"""The incremental-rerun key of one check: what produced a result, so a stored one is reused only while that holds.

A stored result is reused only when everything that could change its outcome is
the same: model type, class, task, template, check, transformers and torch
versions, device, dtype, hfscan's version, a digest of the code and data that
decide verdicts (:func:`code_digest`), the job function, source (and
checkpoint), the hash of any override that applies, and the job options the check reads (``options`` in
``checks.toml``: compile's backend, the export checks' strict mode).

The digest covers, computed automatically (no version to bump by hand):

* every ``.py`` file under ``hfscan/harness`` (shrinker, inputs, repairs, checks,
  worker, runner...) and ``hfscan/records.py``;
* every data file of ``hfscan/data`` that the harness's sources name (e.g.
  ``shrink_rules.toml``, ``templates.toml``), except :data:`KEYED_ELSEWHERE`;
* the module of a job function that lives outside the harness.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

from hfscan import __version__
from hfscan.harness.registry import registry
from hfscan.records import Job

#: The job function that workers run unless told otherwise.
DEFAULT_JOB_FN = "hfscan.harness.smoke:run_job"

#: The hfscan package directory whose harness and data the digest reads.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: Data files the harness reads that are part of the key another way, or change no verdict.
KEYED_ELSEWHERE = {
    "overrides.toml": "each entry's hash is in the key of the model type it applies to",
    "priorities.toml": "selects which model types run; changes no verdict",
}

_DATA_NAME = re.compile(r"""["']([A-Za-z0-9_.-]+\.(?:toml|json))["']""")


def verdict_files(root: Path = PACKAGE_ROOT) -> list[Path]:
    """The files under the package ``root`` that can change a verdict (see the module's docstring), sorted."""
    code = sorted((root / "harness").rglob("*.py")) + [root / "records.py"]
    named: set[str] = set()
    for path in code:
        named.update(_DATA_NAME.findall(path.read_text(encoding="utf-8")))
    data = sorted(root / "data" / n for n in named - set(KEYED_ELSEWHERE) if (root / "data" / n).is_file())
    return [p for p in code if p.is_file()] + data


def _module_file(job_fn: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(job_fn.partition(":")[0])
    except (ImportError, ValueError):
        return None
    return Path(spec.origin).resolve() if spec and spec.origin and spec.has_location else None


@lru_cache(maxsize=None)
def code_digest(job_fn: str = DEFAULT_JOB_FN, root: Path = PACKAGE_ROOT) -> str:
    """A digest of hfscan's version, every file of :func:`verdict_files` (by its path under ``root`` and its
    bytes) and the job function's module when it lies outside them.  Computed once per process."""
    h = hashlib.sha256(__version__.encode())
    files = verdict_files(root)
    extra = _module_file(job_fn)
    if extra is not None and not extra.is_relative_to(PACKAGE_ROOT / "harness"):  # the harness's are counted
        files.append(extra)
    for path in files:
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        h.update(b"\0" + name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:32]


def result_key(
    job: Job,
    check: str,
    transformers_version: str,
    torch_version: str | None,
    job_fn: str = DEFAULT_JOB_FN,
    digest: str | None = None,
) -> str:
    """A stable hex digest naming one (job, check) under one software stack and one harness (``digest``:
    :func:`code_digest` of ``job_fn`` unless given)."""
    parts = {
        "model_type": job.model_type,
        "model_class": job.model_class,
        "task": job.task,
        "template": job.template,
        "check": check,
        "transformers": transformers_version,
        "torch": torch_version,
        "device": job.device,
        "dtype": job.dtype,
        "hfscan": __version__,
        "code": digest if digest is not None else code_digest(job_fn),
        "job_fn": job_fn,
        "override": job.override_hash,
        "source": job.source,
        "checkpoint": job.checkpoint,
    }
    spec = registry().checks.get(check)
    for option in spec.options if spec else ():  # the job options the check reads (e.g. compile's backend)
        parts[option] = getattr(job, option)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
