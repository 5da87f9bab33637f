"""The ``compile`` check: torch.compile of the tested class's forward gives eager's outputs; its graph breaks are
counted with their reasons and the model frames they happen at, and a second input shape (a doubled batch) counts
recompilations. One compile serves both shapes: the batch axis is marked dynamic before the first call
(``maybe_mark_dynamic``: dynamo keeps it symbolic unless the model's code specialises on it), so a model whose graph
does not depend on the batch size recompiles 0 times, one that specialises recompiles once. That costs about half
of a static compile followed by dynamo's automatic-dynamic recompile, and much less than ``dynamic=True``, which
makes every axis symbolic. The break
reasons are read off the graphs the compile itself hands its backend (dynamo's ``compile_subgraph_reason``, what
``torch._dynamo.explain`` reads), so no second trace explains them; with no break the graph was already full, which
is what ``fullgraph=True`` would have asked, so that is recorded without a second compile."""

from __future__ import annotations

from typing import Any

from hfscan.harness.capture.common import capture_inputs, classified, compare, doubled_batch, model_line, quiet
from hfscan.harness.checks import CheckFailure
from hfscan.harness.devices import default_backend
from hfscan.harness.inputs import BATCH
from hfscan.harness.registry import CheckContext

def check_compile(ctx: CheckContext) -> dict:
    import torch
    from torch._dynamo.backends.registry import lookup_backend
    from torch._dynamo.utils import counters

    model, inputs = ctx.attempt.model, batch_dynamic(capture_inputs(ctx.attempt.inputs))
    backend = getattr(ctx.job, "compile_backend", None) or default_backend(ctx.job.device)
    inner, graphs, reasons = lookup_backend(backend), [], []

    def counting(gm: Any, example_inputs: Any) -> Any:
        graphs.append(len(gm.graph.nodes))
        why = getattr(gm, "compile_subgraph_reason", None)
        if why is not None and why.graph_break:
            reasons.append(why)
        return inner(gm, example_inputs)

    torch._dynamo.reset()
    counters.clear()
    compiled = torch.compile(model, backend=counting)
    with torch.no_grad(), quiet():
        reference = model(**inputs)
        try:
            out = compiled(**inputs)
        except Exception as exc:
            raise classified(exc, "compile", backend=backend) from exc
    tol = ctx.tolerance
    observed: dict[str, Any] = {"backend": backend, "dynamic": "batch axis", "graphs": len(graphs),
                                "breaks": sum(counters["graph_break"].values())}
    observed["diff"] = _compared(reference, out, tol, "compile", observed)
    observed["fullgraph"] = observed["breaks"] == 0
    if observed["breaks"]:
        observed["break_reasons"] = _break_reasons(reasons)
    if observed["breaks"] and getattr(type(model), "_can_compile_fullgraph", False):
        first = (observed.get("break_reasons") or [{}])[0]
        err = CheckFailure(f"declares _can_compile_fullgraph, but forward has {observed['breaks']} graph break(s): "
                           f"{first.get('reason', '?')} at {first.get('frame') or '?'}", stage="compile")
        err.category = "graph break in a class that declares a full graph"  # type: ignore[attr-defined]
        raise classified(err, "compile", **observed)
    observed.update(_second_shape(model, compiled, inputs, graphs, tol))  # after a break's verdict: not needed there
    torch._dynamo.reset()
    return observed


def batch_dynamic(inputs: dict) -> dict:
    """``inputs`` with each tensor whose first axis is the batch replaced by an alias (same storage, a new tensor
    object, so the job's own inputs carry no dynamo marking) whose batch axis is marked maybe-dynamic."""
    import torch

    out = {}
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor) and value.dim() and value.shape[0] == BATCH:
            value = value.view(value.shape)
            torch._dynamo.maybe_mark_dynamic(value, 0)
        out[name] = value
    return out


def _compared(reference: Any, out: Any, tol: Any, what: str, observed: dict) -> dict:
    try:
        return compare(reference, out, tol.atol, tol.rtol, what)
    except CheckFailure as exc:
        raise classified(exc, what, **observed) from exc


def _second_shape(model: Any, compiled: Any, inputs: dict, graphs: list, tol: Any) -> dict:
    """The compiled model run on a batch twice as large: recompilations counted, outputs compared with eager's.
    Where eager itself does not take the larger batch, that is recorded and nothing is compared."""
    import torch

    second = doubled_batch(inputs, BATCH)
    if second is None:
        return {"second_shape": "no batch axis"}
    before = len(graphs)
    with torch.no_grad():
        try:
            reference = model(**second)
        except Exception as exc:  # noqa: BLE001 - an input layout that does not double; not the compiler's fault
            return {"second_shape": f"eager refuses a doubled batch ({type(exc).__name__})"}
        out = compiled(**second)
    compare(reference, out, tol.atol, tol.rtol, "compile")
    return {"second_shape": "same as eager", "recompiles": len(graphs) - before}


def _break_reasons(reasons: list, limit: int = 8) -> list[dict]:
    """Each graph break's reason and the innermost model frame it happened at (dynamo's GraphCompileReason)."""
    return [{"reason": (r.reason or "").strip().splitlines()[0][:300] if (r.reason or "").strip() else "",
             "frame": model_line(r.user_stack)} for r in reasons[:limit]]
