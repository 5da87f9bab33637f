"""The ``export``, ``onnx``, ``openvino`` and ``executorch`` checks: the tiny model exported with the API users call
(``transformers.exporters`` where the installed transformers ships it, else plain ``torch.export`` /
``torch.onnx.export``), the exported program run (ONNX in onnxruntime, OpenVINO and ExecuTorch in their runtimes)
and its outputs compared with eager's."""

from __future__ import annotations

import importlib.util
from typing import Any

from hfscan.harness.capture.common import capture_inputs, category, classified, compare, doubled_batch, quiet
from hfscan.harness.checks import CheckFailure
from hfscan.harness.inputs import BATCH
from hfscan.harness.registry import CheckContext

#: The runtime packages each format needs (a missing one makes the check ``skipped: needs <package>``).
RUNTIMES = {"onnx": ("onnx", "onnxscript", "onnxruntime"), "openvino": ("openvino",), "executorch": ("executorch",)}


def has_exporters() -> bool:
    """Whether the installed transformers ships its own export API."""
    return importlib.util.find_spec("transformers.exporters") is not None


def check_export(ctx: CheckContext) -> dict:
    """torch.export (non-strict) with every dimension dynamic where the model allows it: the program's outputs equal
    eager's, and it runs a doubled batch without being exported again (recorded, with eager's outputs compared)."""
    return _exported(ctx, "dynamo", dynamic=True)


def check_onnx(ctx: CheckContext) -> dict:
    return _exported(ctx, "onnx", dynamic=False)


def check_openvino(ctx: CheckContext) -> dict:
    return _exported(ctx, "openvino", dynamic=False)


def check_executorch(ctx: CheckContext) -> dict:
    return _exported(ctx, "executorch", dynamic=False)


def _exported(ctx: CheckContext, fmt: str, dynamic: bool) -> dict:
    import torch

    for package in RUNTIMES.get(fmt, ()):
        if importlib.util.find_spec(package) is None:
            raise ModuleNotFoundError(f"No module named {package!r}", name=package)
    model, inputs = ctx.attempt.model, capture_inputs(ctx.attempt.inputs)
    stage = "export" if fmt == "dynamo" else fmt
    with torch.no_grad():
        reference = model(**inputs)
    observed: dict[str, Any] = {"api": "transformers.exporters" if has_exporters() else "torch"}
    try:
        with quiet():
            run = _export(model, inputs, fmt, dynamic, ctx.job.dtype)
            out = run(**inputs)
    except Exception as exc:
        if observed["api"] == "transformers.exporters" and fmt in ("dynamo", "onnx"):
            observed["plain_torch"] = _plain_verdict(model, inputs, fmt)
        raise classified(exc, stage, **observed) from exc
    tol = ctx.tolerance
    try:
        observed["diff"] = compare(reference, out, tol.atol, tol.rtol, stage)
    except CheckFailure as exc:
        raise classified(exc, stage, **observed) from exc
    if dynamic:
        observed["second_shape"] = _second_shape(model, run, inputs, tol, stage)
    return observed


#: OpenVINO's CPU plugin computes in bfloat16 where the processor supports it unless told the precision: the
#: runtime is asked for the job's dtype, on one thread as the worker's torch (``torch.set_num_threads(1)``).
OPENVINO_PRECISION = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}


def _runner_kwargs(fmt: str, dtype: str) -> dict:
    if fmt == "openvino":
        return {"config": {"INFERENCE_PRECISION_HINT": OPENVINO_PRECISION.get(dtype, "f32"),
                           "INFERENCE_NUM_THREADS": 1}}
    return {}


def _export(model: Any, inputs: dict, fmt: str, dynamic: bool, dtype: str = "float32") -> Any:
    """A callable running the exported program with the model's keyword inputs."""
    if has_exporters():
        from transformers.exporters import AutoHfExporter
        from transformers.exporters.auto import EXPORT_BACKENDS

        config = EXPORT_BACKENDS[fmt].config(dynamic=dynamic)
        exported = AutoHfExporter.from_config(config).export(model, dict(inputs), config)
        return exported.to(**_runner_kwargs(fmt, dtype))
    return _plain(model, inputs, fmt, dynamic)


def _plain(model: Any, inputs: dict, fmt: str, dynamic: bool) -> Any:
    """Plain torch.export / torch.onnx.export, for a transformers without its own export API."""
    import torch

    shapes = None
    if dynamic:
        auto = torch.export.Dim.AUTO
        shapes = {k: ({i: auto for i in range(v.dim())} if isinstance(v, torch.Tensor) else None)
                  for k, v in inputs.items()}
    if fmt == "dynamo":
        return torch.export.export(model, (), kwargs=dict(inputs), dynamic_shapes=shapes, strict=False).module()
    if fmt == "onnx":
        from hfscan.harness.checks import tensors_of

        program = torch.onnx.export(model, (), kwargs=dict(inputs), dynamo=True, verbose=False)
        names = list(tensors_of(model(**inputs)))  # the program's outputs are the model's, flattened in order

        def run(**kw: Any) -> dict:
            return dict(zip(names, program(**{k: v for k, v in kw.items() if isinstance(v, torch.Tensor)})))

        return run
    raise ModuleNotFoundError("transformers.exporters", name="transformers.exporters")


def _plain_verdict(model: Any, inputs: dict, fmt: str) -> str:
    """Whether plain torch.export / torch.onnx.export captures what transformers' exporter did not."""
    try:
        with quiet():
            _plain(model, inputs, fmt, dynamic=False)
    except Exception as exc:  # noqa: BLE001 - recorded, the check fails on the transformers exporter's error
        return f"fails too ({category(exc)})"
    return "succeeds"


def _second_shape(model: Any, run: Any, inputs: dict, tol: Any, stage: str) -> str:
    import torch

    second = doubled_batch(inputs, BATCH)
    if second is None:
        return "no batch axis"
    with torch.no_grad():
        try:
            reference = model(**second)
        except Exception as exc:  # noqa: BLE001 - an input layout that does not double; not the exporter's fault
            return f"eager refuses a doubled batch ({type(exc).__name__})"
        try:
            out = run(**second)
        except Exception as exc:  # noqa: BLE001 - the program specialised a dimension: recorded, not a failure
            return f"refused without re-export ({category(exc)})"
    compare(reference, out, tol.atol, tol.rtol, stage)
    return "runs without re-export, same as eager"
