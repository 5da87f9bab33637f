"""How far two model outputs are apart, and where: the largest absolute and relative difference, by output name
and index, so every failure message says which number moved."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hfscan.harness.checks import CheckFailure, tensors_of


@dataclass(frozen=True)
class Diff:
    """The largest difference between two sets of outputs: its size, relative size and place."""

    abs: float = 0.0
    rel: float = 0.0
    where: str = ""  # "logits[1, 5, 3]"
    compared: int = 0  # how many tensors were compared
    values: int = 0  # how many numbers were compared

    def text(self) -> str:
        if not self.compared:
            return "nothing compared"
        return f"max abs diff {self.abs:.3g} (rel {self.rel:.3g}) at {self.where}"

    def to_json(self) -> dict:
        return {"max_abs": self.abs, "max_rel": self.rel, "at": self.where, "tensors": self.compared}


def _index(flat: int, shape: tuple[int, ...]) -> list[int]:
    out = []
    for size in reversed(shape):
        out.append(flat % size if size else 0)
        flat //= size if size else 1
    return out[::-1]


#: Selects the compared positions of one output: (name, reference tensor) -> a boolean mask of its shape, or None
#: for every position.
Positions = Callable[[str, Any], Any]


def compare(ref: Any, out: Any, atol: float, rtol: float, positions: Positions | None = None,
            skip: tuple[str, ...] = ()) -> tuple[Diff, str | None]:
    """The largest difference of ``out`` from ``ref`` over their common floating outputs (``skip``: names left out),
    and the first output outside ``atol + rtol * |ref|`` (None when all are within). An output whose shape, or whose
    NaN/inf pattern, differs is outside; a name only one side has is outside too."""
    import torch

    a, b = tensors_of(ref), tensors_of(out)
    a = {k: v for k, v in a.items() if not k.split(".")[0] in skip}
    b = {k: v for k, v in b.items() if not k.split(".")[0] in skip}
    missing = sorted(a.keys() ^ b.keys())
    if missing:
        return Diff(), f"outputs {', '.join(missing[:4])} are on one side only"
    worst, bad, n, values = Diff(), None, 0, 0
    for name, t in a.items():
        u = b[name]
        if tuple(t.shape) != tuple(u.shape):
            return worst, f"output {name} has shape {list(u.shape)}, expected {list(t.shape)}"
        if not (t.is_floating_point() or t.is_complex()):
            if not torch.equal(t.cpu(), u.cpu()):
                return worst, f"output {name} differs"
            continue
        t, u = t.detach().cpu().double(), u.detach().cpu().double()
        if t.is_complex() or u.is_complex():
            t, u = torch.view_as_real(t), torch.view_as_real(u)
        keep = positions(name, t) if positions else None
        if keep is not None:
            keep = keep.to(torch.bool).cpu()
        nonfinite = ~torch.isfinite(t) | ~torch.isfinite(u)
        pattern = (torch.isnan(t) != torch.isnan(u)) | (torch.isinf(t) & (t != u))
        if keep is not None:
            pattern &= keep
        if bool(pattern.any()):
            idx = _index(int(pattern.flatten().nonzero()[0]), tuple(t.shape))
            return worst, f"output {name}{idx} is {u.flatten()[int(pattern.flatten().nonzero()[0])].item()}, " \
                          f"expected {t.flatten()[int(pattern.flatten().nonzero()[0])].item()}"
        diff = (t - u).abs().masked_fill(nonfinite, 0.0)
        if keep is not None:
            diff = diff.masked_fill(~keep, 0.0)
        n, values = n + 1, values + int(keep.sum()) if keep is not None else values + t.numel()
        if not diff.numel():
            continue
        over = diff - (atol + rtol * t.abs().masked_fill(nonfinite, 0.0))
        flat = int(diff.flatten().argmax())
        rel = float(diff.flatten()[flat] / max(float(t.abs().flatten()[flat]), 1e-12))
        if float(diff.flatten()[flat]) > worst.abs:
            worst = Diff(float(diff.flatten()[flat]), rel, f"{name}{_index(flat, tuple(t.shape))}")
        if bad is None and bool((over > 0).any()):
            at = int(over.flatten().argmax())
            bad = (f"{name}{_index(at, tuple(t.shape))}: {u.flatten()[at].item():.6g} vs "
                   f"{t.flatten()[at].item():.6g}")
    worst = Diff(worst.abs, worst.rel, worst.where, n, values)
    if bad is not None:
        return worst, f"{worst.text()}; first beyond atol {atol:g} + rtol {rtol:g}: {bad}"
    if not n:
        return worst, "no floating output to compare"
    return worst, None


def assert_close(ref: Any, out: Any, atol: float, rtol: float, what: str, stage: str,
                 positions: Positions | None = None, skip: tuple[str, ...] = ()) -> Diff:
    """:func:`compare`, raising :class:`CheckFailure` ("<what>: max abs diff .. at logits[1, 5, 3] ...") at
    ``stage`` when ``out`` is not within tolerance of ``ref``."""
    diff, problem = compare(ref, out, atol, rtol, positions, skip)
    if problem:
        raise CheckFailure(f"{what}: {problem}", stage=stage)
    return diff


def relative_error(ref: Any, out: Any, floor: float) -> tuple[str, float]:
    """The output whose ``||out - ref|| / max(||ref||, floor)`` (over its finite values) is largest, and that ratio:
    half precision is judged on the whole tensor, where one position's rounding may flip a hard decision (an argmax,
    a hard assignment) and move that position alone."""
    import torch

    a, b = tensors_of(ref), tensors_of(out)
    worst = ("", 0.0)
    for name, t in a.items():
        u = b.get(name)
        if u is None or tuple(u.shape) != tuple(t.shape) or not t.is_floating_point() or not t.numel():
            continue
        t, u = t.detach().cpu().double(), u.detach().cpu().double()
        finite = torch.isfinite(t) & torch.isfinite(u)
        err = float(torch.linalg.vector_norm((t - u)[finite])) / max(float(torch.linalg.vector_norm(t[finite])), floor)
        if err > worst[1]:
            worst = (name, err)
    return worst
