"""batch: a batch of two different samples (padded where the model takes a text mask: on the right for encoders, on
the left for decoders that take position ids) gives each sample the outputs it gives alone, on its unpadded positions.

Not compared: losses (reduced over the batch) and outputs that change with the seed alone (noise drawn for the whole
batch); a padded sample's pooled outputs are recorded, not failed, where its sequence outputs agree (the pooling reads
a padded position). No output left to compare: not applicable."""

from __future__ import annotations

from typing import Any

from hfscan.harness.checks import CheckFailure, tensors_of
from hfscan.harness.consistency import common
from hfscan.harness.consistency.compare import compare
from hfscan.harness.inputs import BATCH
from hfscan.harness.registry import CheckContext, NotApplicable


#: Outputs a batch mixes by definition: a loss reduces over every sample (a codec's commitment loss, a model's own
#: loss), so no sample has it alone.
LOSS = "loss"


def check_batch(ctx: CheckContext) -> dict:
    job, a = ctx.job, ctx.attempt
    common.needs_forward(a)
    tol, model = ctx.tolerance, a.model
    inputs = common.plain_inputs(a)
    unbatched = [k for k, v in inputs.items() if _batched(v) is False]
    if unbatched:
        raise NotApplicable(f"input(s) {', '.join(sorted(unbatched))} do not hold one row per sample")
    left = common.is_causal_decoder(job, a) and common.takes_positions(model)
    pad = common.padded(inputs, left) if _text_only(a) else None
    mask = pad[1] if pad else None
    if pad:
        inputs = common.with_positions(model, pad[0], mask)
    batched = tensors_of(common.run(model, inputs))
    seen: dict[str, Any] = {"padded": ("left" if left else "right") if pad else None, "samples": {}}
    skipped = _not_comparable(batched, common.run(model, inputs, seed_value=1), seen)
    enc_dec = common.encoder_decoder(model, a.config)
    failures = []
    for i in range(BATCH):
        keep = mask[i].bool() if mask is not None else None
        alone = tensors_of(common.run(model, _sample(inputs, i, keep, mask)))
        ref = {n: _row(t, i, keep, mask, n, enc_dec) for n, t in batched.items() if _row_of(t) and n not in skipped}
        out = {n: _alone(alone[n], ref[n]) for n in ref if n in alone}
        across = sorted(n for n in ref if out.get(n) is None)
        if across:  # sized by the batch along another axis too (a contrastive model's scores of every pair)
            seen.setdefault("not_compared", {})[i] = across
        ref = {n: t for n, t in ref.items() if n not in across}
        out = {n: out[n] for n in ref}
        if keep is not None and not bool(keep.all()):
            ref, out = _pooled_apart(ref, out, batched, mask, enc_dec, tol, i, seen)
        diff, problem = _compare(ref, out, tol)
        seen["samples"][i] = diff.to_json() if ref else "nothing to compare"
        if problem:
            failures.append(f"sample {i} alone vs in the batch: {problem}")
    if not any(isinstance(v, dict) for v in seen["samples"].values()):
        shapes = ", ".join(f"{n} {list(t.shape)}" for n, t in list(batched.items())[:4])
        random = f"; random: {', '.join(seen['random'][:4])}" if seen.get("random") else ""
        raise NotApplicable(f"no output holds one row per sample that is comparable alone ({shapes}{random})")
    if failures:
        err = CheckFailure("; ".join(failures), stage="batch")
        err.observed = seen  # type: ignore[attr-defined]
        raise err
    return seen


def _not_comparable(batched: dict, reseeded: Any, seen: dict) -> set[str]:
    """Outputs no sample can be compared on: a loss (reduced over the batch), and outputs that change with the seed
    alone (noise drawn for the whole batch: a sampled latent, randomly sampled patches), which are recorded."""
    import torch

    again = tensors_of(reseeded)
    random = sorted(n for n, t in batched.items() if n in again and tuple(again[n].shape) == tuple(t.shape)
                    and not torch.equal(torch.nan_to_num(t), torch.nan_to_num(again[n])))
    if random:
        seen["random"] = random
    losses = {n for n in batched if n.split(".")[0] == LOSS or n.split(".")[0].endswith("_" + LOSS)}
    return set(random) | {n for n in batched if n not in again} | losses


def _pooled_apart(ref: dict, out: dict, batched: dict, mask: Any, enc_dec: bool, tol: Any, i: int,
                  seen: dict) -> tuple[dict, dict]:
    """A padded sample's outputs less those without a sequence axis (pooled: a last or an end-of-text position, a
    recurrent model's final state) where those differ while its sequence outputs agree on every unpadded position: the
    model honours the mask and only its pooling reads a padded position (recorded in ``pooled_over_padding``)."""
    pooled = [n for n in ref if not common.sequence_output(n, batched[n], mask, enc_dec)]
    sequence = [n for n in ref if n not in pooled]
    if not pooled or not sequence or _compare({n: ref[n] for n in sequence}, {n: out[n] for n in sequence}, tol)[1]:
        return ref, out
    problem = _compare({n: ref[n] for n in pooled}, {n: out[n] for n in pooled}, tol)[1]
    if problem is None:
        return ref, out
    seen.setdefault("pooled_over_padding", {})[i] = problem
    return {n: ref[n] for n in sequence}, {n: out[n] for n in sequence}


def _alone(t: Any, row: Any) -> Any:
    """A sample's output alone, as the row it should equal: its first row, or the whole output where the model
    drops a batch axis of one; None when neither has the row's shape."""
    if _row_of(t, 1) and tuple(t.shape[1:]) == tuple(row.shape):
        return t[0]
    return t if tuple(t.shape) == tuple(row.shape) else None


def _compare(ref: dict, out: dict, tol: Any) -> tuple[Any, str | None]:
    """:func:`compare`; outputs that are all integer (token ids, codes, counts) are compared exactly."""
    import torch

    diff, problem = compare(ref, out, tol.atol, tol.rtol)
    if problem == "no floating output to compare" or not ref:
        differ = sorted(n for n in ref if not torch.equal(ref[n].cpu(), out[n].cpu()))
        problem = f"output {differ[0]} differs" if differ else None
    return diff, problem


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

