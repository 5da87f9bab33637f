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
    """torch.export (non-strict unless ``--export-strict``) with the batch and sequence dimensions dynamic
    (:func:`dynamic_shapes`): the program's outputs equal eager's, and it runs a doubled batch without being exported
    again (recorded, with eager's outputs compared)."""
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
    observed: dict[str, Any] = {"api": "transformers.exporters" if has_exporters() else "torch",
                                "strict": bool(getattr(ctx.job, "export_strict", False))}
    try:
        with quiet():
            run = _export(model, inputs, fmt, dynamic, ctx.job.dtype, observed["strict"], observed)
            out = run(**inputs)
    except Exception as exc:
        if observed["api"] == "transformers.exporters" and fmt in ("dynamo", "onnx"):
            observed["plain_torch"] = _plain_verdict(model, inputs, fmt, observed["strict"])
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


#: Inputs transformers' exporter pops from the traced keywords (it sets them on the config during the trace).
OUTPUT_FLAGS = ("use_cache", "output_attentions", "output_hidden_states", "return_dict", "return_loss")


def dynamic_shapes(inputs: dict, flags: bool = False) -> dict:
    """torch.export's ``dynamic_shapes`` marking only the axes that vary between calls: the batch (the first axis of
    every tensor sized BATCH there) and the sequence (the second axis of token ids and masks: integer and boolean
    tensors). Every other axis is left static: marking all of them ``Dim.AUTO`` (what ``dynamic=True`` alone does)
    makes torch.export resolve symbolic shapes for fixed sizes too, a few times slower, and checks nothing more
    (a size the model specialises on stays static under ``Dim.AUTO`` either way). The output flags transformers'
    exporter pops are left out, unless ``flags`` (plain torch.export, which traces them as given)."""
    import torch

    auto, out = torch.export.Dim.AUTO, {}
    for name, value in inputs.items():
        if name in OUTPUT_FLAGS and not flags:
            continue
        if not isinstance(value, torch.Tensor):
            out[name] = _nested_shapes(value)
            continue
        axes = {0: auto} if value.dim() and value.shape[0] == BATCH else {}
        if value.dim() >= 2 and not value.is_floating_point() and not value.is_complex():
            axes[1] = auto
        out[name] = axes or None
    return out


def _nested_shapes(value: Any) -> Any:
    """A non-tensor input's spec as transformers' exporter builds it (None for a scalar; every axis of a cache)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return None
    from transformers.exporters.exporter_dynamo import get_auto_dynamic_shapes

    return get_auto_dynamic_shapes(value)


def _export(model: Any, inputs: dict, fmt: str, dynamic: bool, dtype: str = "float32", strict: bool = False,
            notes: dict | None = None) -> Any:
    """A callable running the exported program with the model's keyword inputs. A dynamic export marks the batch and
    sequence axes (:func:`dynamic_shapes`); where torch.export refuses that spec itself (an input transformers'
    exporter adds or drops before the trace), every axis is marked ``Dim.AUTO`` as ``dynamic=True`` alone does.
    Which of the two was exported is noted in ``notes["dynamic"]``."""
    notes = {} if notes is None else notes
    if has_exporters():
        from transformers.exporters import AutoHfExporter
        from transformers.exporters.auto import EXPORT_BACKENDS

        def exported(shapes: dict | None) -> Any:
            config = EXPORT_BACKENDS[fmt].config(dynamic=dynamic, strict=strict, dynamic_shapes=shapes)
            return AutoHfExporter.from_config(config).export(model, dict(inputs), config)

        if not dynamic:
            return exported(None).to(**_runner_kwargs(fmt, dtype))
        try:
            program, notes["dynamic"] = exported(dynamic_shapes(inputs)), "batch and sequence axes"
        except Exception as exc:  # noqa: BLE001 - only torch.export's refusal of the spec itself is retried
            if not _spec_refused(exc):
                raise
            program, notes["dynamic"] = exported(None), "every axis (the batch and sequence spec was refused)"
        return program.to(**_runner_kwargs(fmt, dtype))
    return _plain(model, inputs, fmt, dynamic, strict)


def _spec_refused(exc: BaseException) -> bool:
    """Whether torch.export refused the ``dynamic_shapes`` spec's structure (before tracing anything)."""
    text = str(exc)
    return type(exc).__name__ == "UserError" and "dynamic_shapes" in text and (
        "top-level keys" in text or "should be" in text or "expected" in text)


def _plain(model: Any, inputs: dict, fmt: str, dynamic: bool, strict: bool = False) -> Any:
    """Plain torch.export / torch.onnx.export, for a transformers without its own export API."""
    import torch

    shapes = dynamic_shapes(inputs, flags=True) if dynamic else None
    if dynamic:
        notes["dynamic"] = "batch and sequence axes"
    if fmt == "dynamo":
        return torch.export.export(model, (), kwargs=dict(inputs), dynamic_shapes=shapes, strict=strict).module()
    if fmt == "onnx":
        from hfscan.harness.checks import tensors_of

        program = torch.onnx.export(model, (), kwargs=dict(inputs), dynamo=True, verbose=False)
        names = list(tensors_of(model(**inputs)))  # the program's outputs are the model's, flattened in order

        def run(**kw: Any) -> dict:
            return dict(zip(names, program(**{k: v for k, v in kw.items() if isinstance(v, torch.Tensor)})))

        return run
    raise ModuleNotFoundError("transformers.exporters", name="transformers.exporters")


def _plain_verdict(model: Any, inputs: dict, fmt: str, strict: bool = False) -> str:
    """Whether plain torch.export / torch.onnx.export captures what transformers' exporter did not."""
    try:
        with quiet():
            _plain(model, inputs, fmt, dynamic=False, strict=strict)
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
