"""Real job functions that misbehave, for the runner tests (run inside real workers).

``behaving(job)`` picks its behaviour from ``job.model_class`` (for a real class
name, from $HFSCAN_TEST_BEHAVIOUR, default ``ok``): ``ok`` runs a real
torch computation and checks it, ``segfault`` reads address 0, ``hang`` sleeps
forever, ``blowup`` allocates memory until the parent's cap kills it, ``raise``
breaks the job-function contract by raising, ``slow`` takes a while per check, ``markup`` fails with an
error text rich would read as markup.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Iterator

from hfscan.harness.records import CheckResult, Job, Status


def _real_check(job: Job, check: str) -> CheckResult:
    import torch

    t0 = time.perf_counter()
    torch.manual_seed(0)
    layer = torch.nn.Linear(8, 4)
    out = layer(torch.randn(2, 8))
    ok = out.shape == (2, 4) and bool(torch.isfinite(out).all())
    return CheckResult(
        model_type=job.model_type, check=check, status=Status.PASSED if ok else Status.FAILED,
        model_class=job.model_class, task=job.task, family=job.family,
        duration_s=time.perf_counter() - t0, param_count=sum(p.numel() for p in layer.parameters()),
    )


BEHAVIOURS = ("ok", "segfault", "hang", "blowup", "raise", "slow", "sigkill", "markup")
#: The error a ``markup`` job reports: text that rich would read as markup, a closing tag first.
MARKUP_MESSAGE = "[/x] expected input of shape [batch, seq_len] :warning: [red]"


def behaving(job: Job) -> Iterator[CheckResult]:
    behaviour = job.model_class if job.model_class in BEHAVIOURS else os.environ.get("HFSCAN_TEST_BEHAVIOUR", "ok")
    for check in job.checks:
        if check != job.checks[0] or behaviour == "ok":
            yield _real_check(job, check)
            continue
        if behaviour == "segfault":
            ctypes.string_at(0)
        elif behaviour == "hang":
            time.sleep(3600)
        elif behaviour == "blowup":
            hoard = []
            while True:
                hoard.append(b"\x01" * (64 * 2**20))
                time.sleep(0.01)
        elif behaviour == "sigkill":  # what the kernel's out-of-memory killer does
            os.kill(os.getpid(), signal.SIGKILL)
        elif behaviour == "raise":
            raise RuntimeError("contract broken")
        elif behaviour == "slow":
            time.sleep(1.0)
        elif behaviour == "markup":
            yield CheckResult(model_type=job.model_type, check=check, status=Status.FAILED, model_class=job.model_class,
                              task=job.task, family=job.family, stage="forward", error_type="ValueError",
                              message=MARKUP_MESSAGE)
            continue
        yield _real_check(job, check)


not_callable = 42
