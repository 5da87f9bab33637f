"""The ``compile`` check: torch.compile of the tested class's forward gives eager's outputs; its graph breaks are
counted with their reasons and the model frames they happen at, and a second input shape (a doubled batch) counts
recompilations (dynamo's automatic dynamic shapes recompile once, then serve every size, where the model's graph
does not specialise on it). Static first, then dynamic, costs less than a dynamic trace from the start."""

from __future__ import annotations

from typing import Any

from hfscan.harness.capture.common import capture_inputs, classified, compare, doubled_batch, model_line, quiet
from hfscan.harness.checks import CheckFailure
from hfscan.harness.inputs import BATCH
from hfscan.harness.registry import CheckContext

#: The backend per device kind: aot_eager on CPU keeps a sweep cheap (dynamo + AOTAutograd, no code generation);
#: inductor where it generates device kernels.
BACKENDS = {"cuda": "inductor"}
DEFAULT_BACKEND = "aot_eager"


def check_compile(ctx: CheckContext) -> dict:
    import torch
    from torch._dynamo.backends.registry import lookup_backend
    from torch._dynamo.utils import counters

    model, inputs = ctx.attempt.model, capture_inputs(ctx.attempt.inputs)
    backend = BACKENDS.get(ctx.job.device.split(":")[0], DEFAULT_BACKEND)
    inner, graphs = lookup_backend(backend), []

    def counting(gm: Any, example_inputs: Any) -> Any:
        graphs.append(len(gm.graph.nodes))
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
    observed: dict[str, Any] = {"backend": backend, "graphs": len(graphs),
                                "breaks": sum(counters["graph_break"].values())}
    observed["diff"] = _compared(reference, out, tol, "compile", observed)
    observed["fullgraph"] = observed["breaks"] == 0
    if observed["breaks"]:
        observed["break_reasons"] = _break_reasons(model, inputs)
    observed.update(_second_shape(model, compiled, inputs, graphs, tol))
    if observed["breaks"] and getattr(type(model), "_can_compile_fullgraph", False):
        first = (observed.get("break_reasons") or [{}])[0]
        err = CheckFailure(f"declares _can_compile_fullgraph, but forward has {observed['breaks']} graph break(s): "
                           f"{first.get('reason', '?')} at {first.get('frame') or '?'}", stage="compile")
        err.category = "graph break in a class that declares a full graph"  # type: ignore[attr-defined]
        raise classified(err, "compile", **observed)
    torch._dynamo.reset()
    return observed


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


def _break_reasons(model: Any, inputs: dict, limit: int = 8) -> list[dict]:
    """Each graph break's reason and the innermost model frame it happened at (from dynamo's explanation)."""
    import torch

    torch._dynamo.reset()
    with torch.no_grad():
        explanation = torch._dynamo.explain(model)(**inputs)
    reasons = []
    for br in explanation.break_reasons[:limit]:
        reasons.append({"reason": (br.reason or "").strip().splitlines()[0][:300], "frame": model_line(br.user_stack)})
    return reasons

