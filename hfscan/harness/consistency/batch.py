"""batch: a batch of two different samples (padded where the model takes a text mask: on the right for encoders, on
the left for decoders) gives each sample the outputs it gives alone, on its unpadded positions."""

from __future__ import annotations

from typing import Any

from hfscan.harness.checks import CheckFailure, tensors_of
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare
from hfscan.harness.inputs import BATCH
from hfscan.harness.registry import CheckContext, NotApplicable


def check_batch(ctx: CheckContext) -> dict:
    job, a = ctx.job, ctx.attempt
    common.needs_forward(a)
    tol, model = ctx.tolerance, a.model
    inputs = common.plain_inputs(a)
    unbatched = [k for k, v in inputs.items() if _batched(v) is False]
    if unbatched:
        raise NotApplicable(f"input(s) {', '.join(sorted(unbatched))} do not hold one row per sample")
    left = common.is_causal_decoder(job, a)
    pad = common.padded(inputs, left) if _text_only(a) else None
    mask = pad[1] if pad else None
    if pad:
        inputs = common.with_positions(model, pad[0], mask)
    batched = tensors_of(common.run(model, inputs))
    enc_dec = bool(getattr(a.config, "is_encoder_decoder", False))
    seen: dict[str, Any] = {"padded": ("left" if left else "right") if pad else None, "samples": {}}
    failures = []
    for i in range(BATCH):
        keep = mask[i].bool() if mask is not None else None
        alone = tensors_of(common.run(model, _sample(inputs, i, keep, mask)))
        ref = {n: _row(t, i, keep, mask, n, enc_dec) for n, t in batched.items() if _row_of(t)}
        out = {n: t[0] for n, t in alone.items() if n in ref and _row_of(t, 1)}
        across = sorted(n for n in ref if n not in out or tuple(out[n].shape) != tuple(ref[n].shape))
        if across:  # sized by the batch along another axis too (a contrastive model's scores of every pair)
            seen["not_compared"] = across
        ref = {n: t for n, t in ref.items() if n not in across}
        out = {n: t for n, t in out.items() if n in ref}
        diff, problem = compare(ref, out, tol.atol, tol.rtol)
        seen["samples"][i] = diff.to_json()
        if problem:
            failures.append(f"sample {i} alone vs in the batch: {problem}")
        elif not diff.compared:
            raise CheckFailure(f"sample {i}: no output with a row per sample to compare", stage="batch")
    if failures:
        err = CheckFailure("; ".join(failures), stage="batch")
        err.observed = seen  # type: ignore[attr-defined]
        raise err
    return seen


def _batched(v: Any) -> bool | None:
    """Whether an input holds one row per sample (None: not a tensor, nothing to slice)."""
    if not (hasattr(v, "shape") and hasattr(v, "dim")) or v.dim() == 0:
        return None
    return v.shape[0] == BATCH


def _text_only(a: Any) -> bool:
    """Sample 1 may be cut to its unpadded tokens only when text alone was fed (no placeholders to cut)."""
    fed = getattr(a.input_report, "fed", None) or []
    return set(fed) <= {"text"}


def _sample(inputs: dict, i: int, keep: Any, mask: Any) -> dict:
    """Sample ``i`` of every batched input alone, cut to its unpadded positions along the mask."""
    out = {}
    for k, v in inputs.items():
        if _batched(v):
            v = v[i:i + 1]
            if keep is not None and v.dim() >= 2 and tuple(v.shape[1:2]) == (mask.shape[1],) and \
                    not k.startswith("decoder_"):
                v = v[:, keep]
        out[k] = v
    return out


def _row_of(t: Any, rows: int = BATCH) -> bool:
    return t.dim() >= 1 and t.shape[0] == rows


def _row(t: Any, i: int, keep: Any, mask: Any, name: str, enc_dec: bool) -> Any:
    """Row ``i`` of a batched output, at its unpadded positions where the output runs along the mask."""
    if keep is not None and common.sequence_output(name, t, mask, enc_dec):
        return t[i][keep.to(t.device)]
    return t[i]

