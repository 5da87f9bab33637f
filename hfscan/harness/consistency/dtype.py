"""dtype: the model in half precision (bfloat16 on CPU, float16 on CUDA), a copy of the same weights, runs the same
inputs (floating ones cast alike) to finite outputs within tolerance of float32's: each output's
``||half - float32|| / ||float32||`` at most the dtype's ``rtol`` (``atol``: the floor of that norm)."""

from __future__ import annotations

import math
from typing import Any

from hfscan.harness.checks import CheckFailure, check_finite
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare, relative_error
from hfscan.harness.inputs import to_device
from hfscan.harness.registry import CheckContext

#: The half precision tried on each device kind.
HALF = {"cpu": "bfloat16", "cuda": "float16", "mps": "float16", "xpu": "bfloat16"}


def check_dtype(ctx: CheckContext) -> dict:
    import torch

    job, a = ctx.job, ctx.attempt
    common.needs_forward(a)
    half_name = HALF.get(job.device.split(":")[0], "bfloat16")
    half = getattr(torch, half_name)
    tol = ctx.spec.tolerance(half_name)
    inputs = common.plain_inputs(a)
    ref = common.run(a.model, inputs)
    model = common.to_half(a.model, half)
    try:
        out = common.run(model, to_device(inputs, job.device, half))
    except Exception as exc:  # noqa: BLE001 - that half precision does not run is the finding
        raise CheckFailure(f"{half_name} forward: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}",
                           stage="dtype") from exc
    finally:
        del model
    try:
        check_finite(out)
    except CheckFailure as exc:
        raise CheckFailure(f"{half_name}: {exc}", stage="dtype") from exc
    diff, problem = compare(ref, out, math.inf, 0.0)  # the largest difference and where; shapes and NaNs alike
    if problem:
        raise CheckFailure(f"{half_name} vs float32: {problem}", stage="dtype")
    name, err = relative_error(ref, out, tol.atol)
    seen = {"dtype": half_name, "relative_error": err, "worst_output": name, **diff.to_json()}
    if err > tol.rtol:
        raise CheckFailure(f"{half_name} vs float32: {name} is off by {err:.3g} of its norm (tolerance {tol.rtol:g}); "
                           f"{diff.text()}", stage="dtype")
    return seen
