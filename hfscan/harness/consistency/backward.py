"""backward: one training step in train mode: the loss (the forward's, with labels, else the mean of every float
output summed) is finite, every gradient is finite, parameters that get none are listed; where the class declares
gradient checkpointing, the gradients with it enabled equal those without (dropout seeded alike)."""

from __future__ import annotations

from typing import Any

from hfscan.harness.checks import CheckFailure, tensors_of
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare
from hfscan.harness.consistency.flags import declared, mismatch
from hfscan.harness.registry import CheckContext, NotApplicable

#: Parameter names listed in the details when they got no gradient (the rest counted).
LISTED = 20


def check_backward(ctx: CheckContext) -> dict:
    a = ctx.attempt
    common.needs_forward(a)
    model, tol = a.model, ctx.tolerance
    inputs = dict(a.inputs)  # use_cache=False as the forward ran (a cache is no part of a training step)
    flags = declared(model)
    seen: dict[str, Any] = {"declared": {k: v for k, v in flags.items() if k == "supports_gradient_checkpointing"},
                            "mismatches": []}
    try:
        grads, loss_from = _step(model, inputs)
        seen["loss"] = loss_from
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        unused = [n for n in names if n not in grads]
        seen["parameters"], seen["without_gradient"] = len(names), len(unused)
        if unused:
            seen["no_gradient"] = unused[:LISTED] + ([f"... {len(unused) - LISTED} more"] if len(unused) > LISTED else [])
        bad = next((n for n, g in grads.items() if not bool(g.isfinite().all())), None)
        if bad is not None:
            _fail(seen, f"the gradient of {bad} is not finite (NaN or inf)")
        if not grads:
            _fail(seen, "no parameter got a gradient")
        if flags.get("supports_gradient_checkpointing"):
            seen["checkpointing"] = _checkpointed(model, inputs, grads, tol, seen)
    finally:
        if getattr(model, "is_gradient_checkpointing", False):
            model.gradient_checkpointing_disable()
        model.zero_grad(set_to_none=True)
        model.eval()
    return seen


def _fail(seen: dict, message: str) -> None:
    err = CheckFailure(message, stage="backward")
    err.observed = seen  # type: ignore[attr-defined]
    raise err


def _step(model: Any, inputs: dict) -> tuple[dict, str]:
    """Forward in train mode (seeded) and backward: {parameter name: gradient} of those that got one, and what the
    loss was."""
    import torch

    if not any(p.requires_grad for p in model.parameters()):
        raise NotApplicable(f"every parameter of {type(model).__name__} is frozen (requires_grad=False): nothing to "
                            "train")
    model.zero_grad(set_to_none=True)
    model.train()
    common.seed(0)
    out = model(**inputs)
    tensors = tensors_of(out)
    loss = tensors.get("loss")
    if loss is not None and loss.numel() == 1 and loss.requires_grad:
        source = "loss"
    else:
        if not any(t.is_floating_point() for t in tensors.values()):
            raise NotApplicable(f"{type(model).__name__}'s outputs are all integer (hard decisions: codes, ids): "
                                "no loss to differentiate")
        floats = [t for n, t in tensors.items() if t.is_floating_point() and t.requires_grad and t.numel()]
        if not floats:
            raise CheckFailure("no output depends on a parameter: nothing to train", stage="backward")
        loss, source = sum(_mean_unmasked(t) for t in floats), f"mean of {len(floats)} float output(s)"
    if not bool(torch.isfinite(loss).all()):
        raise CheckFailure(f"the training loss is {loss.item()}", stage="backward")
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return grads, source


def _mean_unmasked(t: Any) -> Any:
    """The mean of an output over its values that are not a mask's fill: +-inf or beyond half the dtype's range
    (``finfo.min`` marks a masked logit; it carries no gradient, and summed it overflows). NaN stays in, so a
    NaN output still makes the loss NaN."""
    import torch

    t = t.float()
    fill = torch.isinf(t) | (t.abs() >= torch.finfo(t.dtype).max / 2)
    if bool(fill.all()):
        return t.new_zeros(()) + 0 * t.masked_fill(fill, 0).sum()
    return t.masked_select(~fill).mean()


def _checkpointed(model: Any, inputs: dict, grads: dict, tol: Any, seen: dict) -> dict:
    """The gradients again with gradient checkpointing enabled: the same as ``grads``."""
    try:
        model.gradient_checkpointing_enable()
        again, _ = _step(model, inputs)
    except CheckFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - the class declares it: that it fails is the finding
        text = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
        seen["mismatches"].append(mismatch("supports_gradient_checkpointing", True, "fails",
                                           f"declares gradient checkpointing: {text}"))
        _fail(seen, f"with gradient checkpointing: {text}")
    diff, problem = compare(grads, again, tol.atol, tol.rtol)
    if problem:
        seen["mismatches"].append(mismatch("supports_gradient_checkpointing", True, "differs",
                                           f"declares gradient checkpointing: gradients differ ({diff.text()})"))
        _fail(seen, f"gradients with gradient checkpointing differ: {problem}")
    return diff.to_json()
