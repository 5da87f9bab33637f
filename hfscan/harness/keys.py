"""The incremental-rerun key of one check, and the harness version that is part of it.

A stored result is reused only when everything that could change its outcome is
the same: model type, class, check, transformers and torch versions, device,
dtype, harness version, job function, source (and checkpoint) and the hash of
any override that applies.
"""

from __future__ import annotations

import hashlib
import json

from hfscan.harness.records import Job

#: Bump when a change to the harness can change a result, so stored ones are not reused.
HARNESS_VERSION = "2"  # 2: bbox floats where forward() documents no integer tensor (inputs.py)

#: The job function that workers run unless told otherwise.
DEFAULT_JOB_FN = "hfscan.harness.smoke:run_job"


def result_key(
    job: Job,
    check: str,
    transformers_version: str,
    torch_version: str | None,
    job_fn: str = DEFAULT_JOB_FN,
) -> str:
    """A stable hex digest naming one (job, check) under one software stack."""
    parts = {
        "model_type": job.model_type,
        "model_class": job.model_class,
        "check": check,
        "transformers": transformers_version,
        "torch": torch_version,
        "device": job.device,
        "dtype": job.dtype,
        "harness": HARNESS_VERSION,
        "job_fn": job_fn,
        "override": job.override_hash,
        "source": job.source,
        "checkpoint": job.checkpoint,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]
