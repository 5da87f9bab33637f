"""Harness failures in `hfscan gaps`: grouped by stage and normalised error signature."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hfscan.cache.store import Store, now
from hfscan.cli import cli
from hfscan.harness.records import CheckResult, RunInfo, Status
from hfscan.reports.gaps import error_signature, failure_gaps


def _failed(mt: str, message: str, stage: str = "forward", etype: str = "RuntimeError", status=Status.FAILED):
    return CheckResult(mt, stage, status, stage=stage, error_type=etype, message=message)


def test_signature_masks_sizes_names_addresses_paths_and_the_model_type():
    a = _failed("bert", "Expected size 32 but got 64 in BertSelfAttention at 0x7f3a for /tmp/x/y/bert.bin")
    b = _failed("gpt2", "Expected size 8 but got 16 in GPT2Attention at 0x11 for /var/a/b/c.bin")
    assert error_signature(a) == error_signature(b) == "RuntimeError: Expected size N but got N in <Class> at 0x? for <path>"
    assert error_signature(_failed("llama", "llama needs flash_attn")) == "RuntimeError: <model> needs flash_attn"
    assert error_signature(_failed("x", "other thing")) != error_signature(a)


def test_failures_group_by_stage_and_signature_largest_first():
    results = [
        _failed("bert", "shape [2, 7] vs [2, 8]"),
        _failed("gpt2", "shape [1, 3] vs [1, 4]"),
        _failed("gpt2", "shape [1, 3] vs [1, 4]", stage="generate"),
        _failed("t5", "Boom 5", etype="ValueError"),
        _failed("vit", "worker died (SIGSEGV)", stage="build", etype="SIGSEGV", status=Status.CRASHED),
        CheckResult("opt", "forward", Status.PASSED),
        CheckResult("opt", "generate", Status.SKIPPED, message="needs forward"),
    ]
    groups = failure_gaps(results)
    assert [(g.kind, g.reason, g.model_types) for g in groups] == [
        ("failed at forward", "RuntimeError: shape [N, N] vs [N, N]", ("bert", "gpt2")),
        ("crashed at build", "SIGSEGV: worker died (SIGSEGV)", ("vit",)),
        ("failed at forward", "ValueError: Boom N", ("t5",)),
        ("failed at generate", "RuntimeError: shape [N, N] vs [N, N]", ("gpt2",)),
    ]


def test_gaps_command_reads_the_latest_run(tmp_path, inventory):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.begin_run(RunInfo(None, now(), "0", "3", "2", inventory.transformers_version))
        for mt in ("bert", "gpt2"):
            store.add_result(run.id, _failed(mt, f"{mt} broke at layer 3"))
        store.add_result(run.id, CheckResult("vit", "forward", Status.PASSED))
    out = CliRunner().invoke(cli, ["gaps", "--format", "json", "--store", str(path)])
    assert out.exit_code == 1
    groups = [g for g in json.loads(out.output)["groups"] if g["kind"] == "failed at forward"]
    assert groups == [{"kind": "failed at forward", "reason": "RuntimeError: <model> broke at layer N", "traits": [],
                       "model_types": ["bert", "gpt2"]}]
    table = CliRunner().invoke(cli, ["gaps", "--store", str(path)])
    assert "failed at forward (2): RuntimeError: <model> broke at layer N" in table.output


def test_the_worklist_lists_partial_expected_override_and_skipped_types_by_reason():
    from hfscan.harness.records import coverage_by_model_type
    from hfscan.reports.gaps import coverage_gaps

    results = [
        CheckResult("bert", "forward", Status.PASSED),
        CheckResult("beit", "forward", Status.PASSED, override_hash="abc"),
        CheckResult("detr", "build", Status.SKIPPED, message="needs timm (pip install timm)"),
        CheckResult("dinat", "build", Status.SKIPPED, message="needs natten (pip install natten)"),
        CheckResult("omdet-turbo", "build", Status.SKIPPED, message="needs timm (pip install timm)"),
        CheckResult("sam2_video", "forward", Status.XFAIL, message="expected: needs a session"),
        CheckResult("llava", "build", Status.PASSED),
        CheckResult("llava", "forward", Status.PARTIAL, message="text only: no pixel_values builder"),
        _failed("gpt2", "boom"),
    ]
    groups = coverage_gaps(results, coverage_by_model_type(results))
    assert [(g.kind, g.reason, g.model_types) for g in groups] == [
        ("partial", "text only: no pixel_values builder", ("llava",)),
        ("expected failure", "expected: needs a session", ("sam2_video",)),
        ("pass with override", "passes only with an entry in the overrides file", ("beit",)),
        ("skipped", "needs timm (pip install timm)", ("detr", "omdet-turbo")),
        ("skipped", "needs natten (pip install natten)", ("dinat",)),
    ]


def test_gaps_json_counts_every_coverage_category(tmp_path, inventory):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        run = store.begin_run(RunInfo(None, now(), "0", "3", "2", inventory.transformers_version))
        store.add_result(run.id, CheckResult("bert", "forward", Status.PASSED))
        store.add_result(run.id, CheckResult("beit", "forward", Status.PASSED, override_hash="abc"))
        store.add_result(run.id, CheckResult("detr", "build", Status.SKIPPED, message="needs timm (pip install timm)"))
    data = json.loads(CliRunner().invoke(cli, ["gaps", "--format", "json", "--store", str(path)]).output)
    top_level = data["considered"]
    assert data["coverage"] == {"generic pass": 1, "pass with override": 1, "skipped": 1, "not run": top_level - 3}
    kinds = {g["kind"]: g["model_types"] for g in data["groups"]}
    assert kinds["pass with override"] == ["beit"] and kinds["skipped"] == ["detr"]
    assert "bert" not in {mt for g in data["groups"] for mt in g["model_types"]}


def _typed(mt: str, message: str, kind: str, subject: str, etype: str = "TypeError"):
    details = json.dumps({"failure_kind": kind, "failure_subject": subject})
    return CheckResult(mt, "forward", Status.FAILED, stage="inputs", error_type=etype, message=message, details=details)


def test_failures_the_harness_typed_group_by_their_kind_not_their_text():
    results = [
        _typed("a", "no input builder for required forward() argument(s) trajectory, rewards", "no-input-builder",
               "trajectory, rewards", etype="NoInputBuilder"),
        _typed("b", "reworded: nothing makes trajectory, rewards 12", "no-input-builder", "trajectory, rewards",
               etype="NoInputBuilder"),
        _typed("c", "no input builder for required forward() argument(s) boxes", "no-input-builder", "boxes",
               etype="NoInputBuilder"),
        _typed("d", "size 3 != 4", "failed-after-repair", "swap_axes", etype="RuntimeError"),
        _typed("e", "size 5 != 6", "failed-after-repair", "swap_axes", etype="RuntimeError"),
        _typed("f", "other 5", "failed-after-repair", "swap_axes", etype="RuntimeError"),
    ]
    groups = {g.reason: g.model_types for g in failure_gaps(results)}
    assert groups == {
        "no-input-builder: trajectory, rewards": ("a", "b"),
        "no-input-builder: boxes": ("c",),
        "failed-after-repair: swap_axes | RuntimeError: size N != N": ("d", "e"),
        "failed-after-repair: swap_axes | RuntimeError: other N": ("f",),
    }
