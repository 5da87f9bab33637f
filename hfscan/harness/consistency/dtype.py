"""dtype: the model in half precision (bfloat16 on CPU, float16 on CUDA), a copy of the same weights (the modules its
class pins in float32 kept so), runs the same inputs (floating ones cast alike) to finite outputs within tolerance of
float32's: each output's ``||half - float32|| / ||float32||`` at most the dtype's ``rtol`` (``atol``: the floor of
that norm), or at most ``rounding`` times the error float32 itself makes with only its weights and inputs rounded to
half precision (a model whose outputs hang on a hard decision, a top-k query selection or a codebook's argmin, moves
that far at that resolution whatever the arithmetic). Integer outputs (codes, ids) are recorded, not compared."""

from __future__ import annotations

import math
from typing import Any

from hfscan.harness.checks import CheckFailure, check_finite
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare, relative_error
from hfscan.harness.inputs import to_device
from hfscan.harness.registry import CheckContext, NotApplicable

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
    hard = _integer_outputs(ref, out)
    if hard is None:
        raise NotApplicable(f"{type(a.model).__name__}'s outputs are all integer (hard decisions: codes, ids); "
                            "half precision is judged on floating outputs")
    diff, problem = compare(ref, out, math.inf, 0.0, skip=tuple(hard))  # the largest difference and where; shapes
    if problem:                                                          # and NaNs alike
        raise CheckFailure(f"{half_name} vs float32: {problem}", stage="dtype")
    name, err = relative_error(ref, out, tol.atol)
    seen = {"dtype": half_name, "relative_error": err, "worst_output": name, **diff.to_json()}
    if hard:
        seen["integer_outputs_agree"] = hard
    limit = tol.rtol
    if err > limit and tol.rounding:
        seen["rounding_error"] = rounding = _rounding_error(a.model, inputs, ref, half, job.device, tol.atol)
        limit = seen["tolerance"] = max(tol.rtol, tol.rounding * rounding)
    if err > limit:
        why = f" (rounding weights and inputs alone: {seen['rounding_error']:.3g})" if "rounding_error" in seen else ""
        failure = CheckFailure(f"{half_name} vs float32: {name} is off by {err:.3g} of its norm (tolerance "
                               f"{limit:.3g}{why}); {diff.text()}", stage="dtype")
        failure.observed = seen  # type: ignore[attr-defined]
        raise failure
    return seen


def _integer_outputs(ref: Any, out: Any) -> dict[str, float] | None:
    """{name: the fraction of equal values} of the integer outputs (argmin codes, argmax ids: a hard decision that
    half precision's rounding may flip where two candidates are close, so they are recorded, not compared; a shape
    that differs still fails), by top-level output name; None when every output is integer."""
    from hfscan.harness.checks import tensors_of

    a, b = tensors_of(ref), tensors_of(out)
    if a and not any(t.is_floating_point() or t.is_complex() for t in a.values()):
        return None
    floating = {n.split(".")[0] for n, t in a.items() if t.is_floating_point() or t.is_complex()}
    agree: dict[str, float] = {}
    for name, t in a.items():
        u, top = b.get(name), name.split(".")[0]
        if top in floating or u is None or tuple(u.shape) != tuple(t.shape):
            continue  # an integer part of an output that holds floats too is compared with it, exactly
        agree[top] = float((t.cpu() == u.cpu()).float().mean()) if t.numel() else 1.0
    return agree


def _rounding_error(model: Any, inputs: dict, ref: Any, half: Any, device: str, floor: float) -> float:
    """How far float32 moves when only the weights and inputs are rounded to ``half`` (every operation still in
    float32): the model's own sensitivity at that precision, which no half precision arithmetic can beat."""
    import torch

    rounded = common.to_half(model, half).float()
    try:
        out = common.run(rounded, to_device(to_device(inputs, device, half), device, torch.float32))
    except Exception:  # noqa: BLE001 - no such measure: the rtol alone judges
        return 0.0
    finally:
        del rounded
    return relative_error(ref, out, floor)[1]
