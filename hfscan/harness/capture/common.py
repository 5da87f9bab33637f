"""What the capture checks share: their inputs, a second input shape, output comparison, failure classification."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import re
import traceback
from typing import Any, Iterable, Iterator

from hfscan.harness.checks import CheckFailure, tensors_of

#: forward() inputs that are training targets: a capture traces inference, without a loss.
TARGET_INPUTS = ("labels", "decoder_labels", "mc_labels", "start_positions", "end_positions", "return_loss")

#: Failure categories, from the exception's type (its class name or one of its bases' names), first match wins.
#: A type named here is matched anywhere in the exception's chain (__cause__ / __context__).
CATEGORIES = (
    (("GuardOnDataDependentSymNode", "DataDependentOutputException", "PendingUnbackedSymbolNotFound"),
     "data-dependent control flow or shape"),
    (("ConstraintViolationError",), "guard on a dynamic dimension"),
    (("DispatchError", "UnsupportedFxNodesError"), "operator the exporter lacks"),
    (("Unsupported", "UncapturedHigherOrderOpError", "UserError"), "construct the tracer does not support"),
    (("TorchRuntimeError", "InternalTorchDynamoError", "BackendCompilerFailed"), "tracer error in model code"),
    (("OutputsDiffer",), "outputs differ from eager"),
)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Capture tools' progress lines (torch.onnx prints to stdout, and logs warnings) kept off the worker's output,
    which is the terminal of `hfscan run`."""
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        onnxruntime.set_default_logger_severity(3)  # errors only: no "Removing initializer" lines per export
    loggers = [logging.getLogger(n) for n in ("torch", "onnxscript", "transformers.exporters")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class OutputsDiffer(CheckFailure):
    """A captured program's outputs differ from eager's beyond the tolerance."""


def capture_inputs(inputs: dict) -> dict:
    """The forward inputs a capture is fed: everything but training targets."""
    return {k: v for k, v in inputs.items() if k not in TARGET_INPUTS}


def doubled_batch(inputs: dict, batch: int) -> dict | None:
    """The same inputs with every tensor whose first axis is the batch repeated twice along it (a second shape),
    or None when no input has that axis."""
    import torch

    out, grown = {}, False
    for k, v in inputs.items():
        if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == batch:
            out[k], grown = torch.cat([v, v]), True
        else:
            out[k] = v
    return out if grown else None


def compare(reference: Any, got: Any, atol: float, rtol: float, what: str) -> dict:
    """Every tensor of ``reference`` equals its namesake in ``got`` within ``atol + rtol * |reference|``; raises
    :class:`OutputsDiffer` naming the output, the index of the largest difference, and the largest absolute and
    relative differences. Returns those largest differences for the details."""
    import torch

    ref, out = tensors_of(reference), tensors_of(got)
    missing = [n for n in ref if n not in out]
    if missing:
        raise OutputsDiffer(f"{what}: outputs missing: {', '.join(missing[:5])}", stage=what)
    worst = {"max_abs": 0.0, "max_rel": 0.0}
    for name, r in ref.items():
        g = out[name]
        if tuple(g.shape) != tuple(r.shape):
            raise OutputsDiffer(f"{what}: {name} has shape {list(g.shape)}, eager {list(r.shape)}", stage=what)
        if not r.is_floating_point():
            if not torch.equal(r.cpu(), g.cpu()):
                raise OutputsDiffer(f"{what}: {name} differs from eager (integer output)", stage=what)
            continue
        r64, g64 = r.detach().double().cpu(), g.detach().double().cpu()
        finite = torch.isfinite(r64) & torch.isfinite(g64)
        if not torch.equal(torch.isfinite(r64), torch.isfinite(g64)) or not torch.equal(r64[~finite], g64[~finite]):
            raise OutputsDiffer(f"{what}: {name} is not finite where eager is, or the reverse", stage=what)
        diff = torch.where(finite, (r64 - g64).abs(), torch.zeros_like(r64))
        if not diff.numel():
            continue
        flat = int(diff.argmax())
        abs_err = float(diff.flatten()[flat])
        rel_err = abs_err / max(float(r64.flatten()[flat].abs()), 1e-12)
        worst["max_abs"], worst["max_rel"] = max(worst["max_abs"], abs_err), max(worst["max_rel"], rel_err)
        if bool((diff > atol + rtol * r64.abs()).any()):
            index = list(torch.unravel_index(torch.tensor(flat), diff.shape))
            raise OutputsDiffer(f"{what}: {name}[{', '.join(str(int(i)) for i in index)}] differs from eager by "
                                f"{abs_err:.3g} (relative {rel_err:.3g}; atol {atol:g}, rtol {rtol:g})", stage=what)
    return {k: float(f"{v:.3g}") for k, v in worst.items()}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then the exception it was raised from or during, and so on (each once)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def category(exc: BaseException) -> str:
    """The failure category of ``exc`` (see :data:`CATEGORIES`), else its type's name."""
    names = {c.__name__ for e in _chain(exc) for c in type(e).__mro__}
    for types, label in CATEGORIES:
        if any(t in names for t in types):
            return label
    return type(exc).__name__


def model_line(frames: Iterable[Any]) -> str | None:
    """``models/<type>/modeling_<type>.py:LINE`` of the innermost of ``frames`` (FrameSummary objects) that lies in
    a transformers modeling module, or None."""
    found = None
    for frame in frames:
        path = frame.filename.replace("\\", "/")
        if "/transformers/models/" in path:
            found = f"{path.split('/transformers/', 1)[1]}:{frame.lineno}"
    return found


def model_frame(exc: BaseException) -> str | None:
    """``models/<type>/modeling_<type>.py:LINE``: the innermost frame of the exception (or its chain) that lies in a
    transformers modeling module, where the capture stopped in the model's own code."""
    found = None
    for e in _chain(exc):
        found = model_line(traceback.extract_tb(e.__traceback__)) or found
    return found


class CaptureFailure(CheckFailure):
    """A capture that failed, named by its category and the innermost error of the chain (what the tool said), with
    what the check observed attached for the result's details."""

    def __init__(self, exc: BaseException, stage: str, observed: dict):
        root = _root(exc)
        said = _first_line(root)
        kind = getattr(exc, "category", None) or category(exc)
        own = isinstance(exc, CheckFailure)  # hfscan's own assertion: its message says it all
        message = str(exc) if own else f"{kind}: {type(root).__name__}: {said}"
        super().__init__(message, stage=getattr(exc, "stage", None) or stage)
        self.error_type = type(root).__name__
        self.observed = {"category": kind, "frame": model_frame(exc), **observed}


def _root(exc: BaseException) -> BaseException:
    """The innermost exception of ``exc``'s chain."""
    *_, root = _chain(exc)
    return root


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc))
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")[:300]


def classified(exc: BaseException, stage: str, **observed: Any) -> CaptureFailure:
    """``exc`` as a :class:`CaptureFailure` at ``stage``, with its category, model frame and ``observed``; the caller
    raises it ``from`` the original."""
    return exc if isinstance(exc, CaptureFailure) else CaptureFailure(exc, stage, observed)
