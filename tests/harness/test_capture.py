"""Graph capture checks (compile, export, onnx) on a real tiny model, and on the same model made to break capture:
a data-dependent Python branch (a graph break; an export that cannot trace it) and an operator ONNX lacks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hfscan.harness.capture.common import CaptureFailure, OutputsDiffer, category, compare, doubled_batch
from hfscan.harness.registry import CheckContext, registry

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama():
    """The tiny llama the smoke test builds (random weights), with its inputs."""
    from hfscan.classifiers import classify_all
    from hfscan.harness import smoke
    from hfscan.harness.shrink import levels
    from hfscan.scanner.discover import discover

    inventory = discover()
    template = classify_all(inventory)["llama"].template
    job = smoke.plan_jobs(inventory.get("llama"), template=template)[0]
    attempt = smoke._filled_attempt(job, levels()[0], None)
    assert attempt.error is None
    return job, attempt


def _run(check: str, job, attempt, model=None):
    a = replace(attempt, model=model) if model is not None else attempt
    spec = registry().checks[check]
    return spec.function()(CheckContext(job=replace(job, checks=(check,)), attempt=a, spec=spec))


def _broken(attempt, forward_extra, fullgraph: bool = False):
    """The same architecture and weights, its forward made to break capture by ``forward_extra(logits)``."""
    import torch

    base = type(attempt.model)

    class Broken(base):
        _can_compile_fullgraph = fullgraph

        def forward(self, *args, **kwargs):
            out = super().forward(*args, **kwargs)
            out.logits = forward_extra(out.logits)
            return out

    model = Broken(attempt.config).eval()
    model.load_state_dict(attempt.model.state_dict())
    with torch.no_grad():
        model(**{k: v for k, v in attempt.inputs.items() if k != "labels"})
    return model


def _branch(logits):
    # a data-dependent Python branch: dynamo breaks the graph here and torch.export cannot trace it
    return logits * 2 if logits.sum() > 0 else logits - 1


def _batch_branch(logits):
    # a Python branch on the batch size: dynamo specialises the batch axis (same values either way)
    return logits + 0 if logits.shape[0] == 2 else logits * 1


def _bessel(logits):
    import torch

    return torch.special.i0(logits)  # no ONNX function implements aten::special_i0


def test_compile_matches_eager_on_a_real_model_and_counts_one_graph(llama):
    observed = _run("compile", *llama)
    assert observed["graphs"] == 1 and observed["breaks"] == 0 and observed["fullgraph"] is True
    assert observed["second_shape"] == "same as eager"
    # one compile with the batch axis dynamic serves the doubled batch: no recompilation for a batch-generic graph
    assert observed["dynamic"] == "batch axis" and observed["recompiles"] == 0
    assert observed["backend"] == "aot_eager"


def test_a_model_that_specialises_on_the_batch_size_counts_a_recompilation(llama):
    job, attempt = llama
    observed = _run("compile", job, attempt, _broken(attempt, _batch_branch))
    assert observed["breaks"] == 0 and observed["recompiles"] == 1


def test_compile_uses_the_backend_the_job_names(llama):
    job, attempt = llama
    assert _run("compile", replace(job, compile_backend="eager"), attempt)["backend"] == "eager"


def test_a_data_dependent_branch_is_a_graph_break_with_its_reason(llama):
    job, attempt = llama
    observed = _run("compile", job, attempt, _broken(attempt, _branch))
    assert observed["breaks"] >= 1 and observed["fullgraph"] is False
    assert observed["break_reasons"] and observed["break_reasons"][0]["reason"]


def test_a_graph_break_fails_a_class_that_declares_a_full_graph(llama):
    job, attempt = llama
    with pytest.raises(CaptureFailure, match="declares _can_compile_fullgraph"):
        _run("compile", job, attempt, _broken(attempt, _branch, fullgraph=True))


def test_export_matches_eager_and_runs_a_second_shape_without_re_export(llama):
    observed = _run("export", *llama)
    assert observed["diff"]["max_abs"] <= 1e-4
    assert observed["second_shape"] == "runs without re-export, same as eager"
    assert observed["dynamic"] == "batch and sequence axes" and observed["strict"] is False


def test_export_strict_is_what_the_job_asks(llama):
    job, attempt = llama
    try:
        observed = _run("export", replace(job, export_strict=True), attempt)
    except CaptureFailure as failure:
        observed = failure.observed
    assert observed["strict"] is True


def test_export_of_a_data_dependent_branch_fails_with_its_category(llama):
    job, attempt = llama
    with pytest.raises(CaptureFailure) as failure:
        _run("export", job, attempt, _broken(attempt, _branch))
    assert failure.value.observed["category"] == "data-dependent control flow or shape"
    assert failure.value.stage == "export"


def test_onnx_runs_in_onnxruntime_and_matches_eager(llama):
    pytest.importorskip("onnxruntime")
    observed = _run("onnx", *llama)
    assert observed["diff"]["max_abs"] <= 1e-4


def test_an_operator_onnx_lacks_fails_the_onnx_check(llama):
    pytest.importorskip("onnxruntime")
    job, attempt = llama
    with pytest.raises(CaptureFailure) as failure:
        _run("onnx", job, attempt, _broken(attempt, _bessel))
    assert failure.value.observed["category"] == "operator the exporter lacks"
    assert "bessel_i0" in str(failure.value)


def test_compare_names_the_output_and_index_of_the_largest_difference():
    import torch

    ref = {"logits": torch.zeros(2, 3)}
    got = {"logits": torch.zeros(2, 3)}
    got["logits"][1, 2] = 0.5
    with pytest.raises(OutputsDiffer, match=r"logits\[1, 2\] differs from eager by 0.5"):
        compare(ref, got, 1e-4, 1e-4, "export")
    assert compare(ref, ref, 0, 0, "export") == {"max_abs": 0.0, "max_rel": 0.0}


def test_doubled_batch_grows_only_batch_axes():
    import torch

    inputs = {"input_ids": torch.ones(2, 5), "grid": torch.ones(3, 2), "flag": True}
    doubled = doubled_batch(inputs, 2)
    assert doubled["input_ids"].shape == (4, 5) and doubled["grid"].shape == (3, 2) and doubled["flag"] is True
    assert doubled_batch({"grid": torch.ones(3)}, 2) is None


def test_dynamic_shapes_mark_the_batch_and_the_sequence_of_ids_only():
    import torch

    from hfscan.harness.capture.export import dynamic_shapes

    auto = torch.export.Dim.AUTO
    inputs = {"input_ids": torch.ones(2, 8, dtype=torch.long), "pixel_values": torch.ones(2, 3, 4, 4),
              "grid": torch.ones(3, 2, dtype=torch.long), "use_cache": False, "past": None}
    shapes = dynamic_shapes(inputs)
    assert shapes == {"input_ids": {0: auto, 1: auto}, "pixel_values": {0: auto}, "grid": {1: auto}, "past": None}
    assert dynamic_shapes(inputs, flags=True)["use_cache"] is None


def test_batch_dynamic_marks_an_alias_and_leaves_the_jobs_inputs_unmarked():
    import torch

    from hfscan.harness.capture.compile import batch_dynamic

    ids, grid = torch.ones(2, 8), torch.ones(3, 2)
    marked = batch_dynamic({"input_ids": ids, "grid": grid, "flag": True})
    assert marked["input_ids"] is not ids and marked["input_ids"].data_ptr() == ids.data_ptr()
    assert 0 in getattr(marked["input_ids"], "_dynamo_weak_dynamic_indices", set())
    assert not hasattr(ids, "_dynamo_weak_dynamic_indices") and marked["grid"] is grid and marked["flag"] is True


def test_category_reads_the_exception_chain():
    class GuardOnDataDependentSymNode(RuntimeError):
        pass

    try:
        try:
            raise GuardOnDataDependentSymNode("Could not guard on data-dependent expression")
        except RuntimeError as inner:
            raise ValueError("export failed") from inner
    except ValueError as exc:
        assert category(exc) == "data-dependent control flow or shape"
    assert category(KeyError("x")) == "KeyError"
