"""run_job on real tiny models: results per check, failures recorded, never raised."""

from __future__ import annotations

import copy
import json

import pytest

from hfscan.harness import shrink, smoke
from hfscan.harness.overrides import Override
from hfscan.harness.records import Job, Status
from hfscan.harness.smoke import missing_package, plan_jobs, run_job


def _results(job: Job) -> dict[str, object]:
    return {r.check: r for r in run_job(job)}


def test_plan_picks_the_templates_representative_class(inventory):
    bert = inventory.get("bert")
    [job] = plan_jobs(bert, template="text-encoder")
    assert (job.task, job.model_class) == ("masked-lm", "BertForMaskedLM")
    assert {j.model_class for j in plan_jobs(bert, tasks="all")} == set(bert.model_classes)
    [job] = plan_jobs(inventory.get("gpt2"), template=None, checks=("build", "forward"))
    assert job.task == "causal-lm" and job.checks == ("build", "forward")


def test_plan_prefers_a_class_of_the_types_own_package(inventory):
    """shieldgemma2 is mapped to Gemma3ForConditionalGeneration (built from a Gemma3Config; a checkpoint of it
    reloads with gemma3's key layout) before its own ShieldGemma2ForImageClassification."""
    record = inventory.get("shieldgemma2")
    assert "Gemma3ForConditionalGeneration" in record.model_classes
    [job] = plan_jobs(record, template=None)
    assert job.model_class == "ShieldGemma2ForImageClassification"


def test_plan_carries_the_override(inventory):
    override = Override("gpt2", reason="test", model_class="GPT2Model")
    [job] = plan_jobs(inventory.get("gpt2"), overrides={"gpt2": override})
    assert job.model_class == "GPT2Model" and job.override_hash == override.hash
    assert Override.from_json(job.override) == override


def test_a_failure_is_a_result_and_later_checks_are_skipped():
    results = _results(Job("bert", "NoSuchBertModel", "base"))
    build = results["build"]
    assert build.status == Status.FAILED and build.stage == "build"
    assert build.error_type == "AttributeError" and "NoSuchBertModel" in build.message and build.traceback  # transformers' own
    assert results["forward"].status == Status.SKIPPED and results["forward"].message == "needs build"
    assert "generate" not in results or results["generate"].status == Status.SKIPPED


def test_an_expected_failure_is_xfail_only_in_the_check_it_names():
    override = Override("bert", reason="test", xfail="upstream bug #1", xfail_check="build")
    results = _results(Job("bert", "NoSuchBertModel", "base", override=override.to_json(),
                           override_hash=override.hash))
    assert results["build"].status == Status.XFAIL
    assert results["build"].message.startswith("expected: upstream bug #1")
    assert results["build"].override_hash == override.hash
    # an expected failure of forward (the default) does not hide a build that broke
    override = Override("bert", reason="test", xfail="upstream bug #1")
    results = _results(Job("bert", "NoSuchBertModel", "base", override=override.to_json(),
                           override_hash=override.hash))
    assert results["build"].status == Status.FAILED


def test_missing_optional_packages_are_named():
    assert missing_package(ModuleNotFoundError("No module named 'scipy'", name="scipy")) == "scipy"
    assert missing_package(ImportError("TimmBackbone requires the timm library but it was not found")) == "timm"
    assert missing_package(ModuleNotFoundError("No module named 'foo'", name="foo")) is None
    assert smoke._skip_message("scipy") == "needs scipy (pip install 'hfscan[audio]')"


@pytest.mark.slow
@pytest.mark.parametrize("model_type,template", [
    ("bert", "text-encoder"), ("gpt2", "causal-lm"), ("t5", "seq2seq-lm"), ("vit", "image-classification"),
    ("wav2vec2", "speech-encoder"), ("llava", "image-text-to-text"), ("clip", "contrastive"),
    ("whisper", "speech-seq2seq"),
])
def test_real_tiny_models_pass_every_check(inventory, model_type, template):
    [job] = plan_jobs(inventory.get(model_type), template=template)
    results = _results(job)
    expected = {"build", "forward", "fidelity", "save-load"} | ({"generate"} if smoke.is_generative(template, job.task) else set())
    assert set(results) == expected
    for check, r in results.items():
        assert r.status == Status.PASSED, (check, r.stage, r.message)
        assert 0 < r.param_count < 5_000_000
    details = results["forward"].detail
    assert details["inputs"] and details["outputs"] and details["shrink"]["shrunk"]
    assert set(details["modalities"]["fed"]) >= set(smoke.templates()["template"][template]["modalities"])


def _without_attr(data: dict, attr: str) -> dict:
    out = copy.deepcopy(data)
    for rule in out["rule"]:
        if attr in rule.get("attrs", ()):
            rule["attrs"].remove(attr)
    return out


@pytest.mark.slow
def test_one_general_rule_moves_a_whole_failure_group(inventory, monkeypatch):
    """Without the rule that caps rotary widths, every model with a rotary_dim fails alike; with it, all pass."""
    types = ["gptj", "codegen"]
    jobs = [plan_jobs(inventory.get(t), checks=("build", "forward"))[0] for t in types]
    real = shrink.rules()
    monkeypatch.setattr(shrink.ruleset, "rules", lambda: _without_attr(real, "rotary_dim"))
    broken = [_results(j)["forward"] for j in jobs]
    assert all(r.status == Status.FAILED and r.stage == "forward" for r in broken)
    assert len({r.error_type for r in broken}) == 1
    monkeypatch.setattr(shrink.ruleset, "rules", lambda: real)
    fixed = [_results(j)["forward"] for j in jobs]
    assert all(r.status == Status.PASSED for r in fixed), [(r.model_type, r.message) for r in fixed]
    assert json.loads(fixed[0].details)["shrink"]["shrunk"]["rotary_dim"][1] <= 8


def test_a_sub_config_with_only_an_unmapped_class_is_planned(inventory):
    record = inventory.get("blip_text_model")
    assert not record.tasks and record.unmapped_classes
    [job] = plan_jobs(record)
    assert job.model_class == "BlipTextModel" and job.task == "base"


def test_images_a_model_reads_as_frames_flattened_into_the_batch_get_its_frames_per_sample():
    """XCLIPVisionModel divides its batch of images by config.num_frames (one video per num_frames rows):
    two images make no video ("shape '[0, 8, 32]' is invalid"); the repair gives each sample its frames."""
    from transformers import XCLIPVisionConfig

    forward = _results(Job(model_type="xclip_vision_model", model_class="XCLIPVisionModel", task="base",
                           checks=("build", "forward")))["forward"]
    assert forward.status == Status.PASSED, forward.message
    from hfscan.harness.shrink import tiny_config

    assert forward.detail["inputs"]["pixel_values"][0] == 2 * tiny_config(XCLIPVisionConfig)[0].num_frames
    assert forward.detail["repairs"] == ["frames_in_batch"]


def test_flat_patches_a_tower_unpacks_with_a_sequence_axis_too_are_one_packed_sequence():
    """PaddleOCR-VL's vision model unpacks (batch, patches, channels, patch, patch), the VL model feeding it all
    images' patches as one sequence (unsqueeze(0)); the flat rows get their patch axes and that batch of one."""
    forward = _results(Job(model_type="paddleocr_vl_vision", model_class="PaddleOCRVisionModel", task="base",
                           checks=("build", "forward")))["forward"]
    assert forward.status == Status.PASSED, forward.message
    shape = forward.detail["inputs"]["pixel_values"]
    assert len(shape) == 5 and shape[0] == 1 and shape[1] > 2
    top = _results(Job(model_type="paddleocr_vl", model_class="PaddleOCRVLForConditionalGeneration",
                       task="image-text-to-text", checks=("build", "forward")))["forward"]
    assert top.status == Status.PASSED and len(top.detail["inputs"]["pixel_values"]) == 4  # the model adds it


def test_generate_of_a_multi_codebook_decoder_is_checked_in_its_layout(inventory):
    """DiaForConditionalGeneration takes decoder ids of (batch, length, codebooks) and generates in that layout."""
    [job] = plan_jobs(inventory.get("dia"), template="speech-seq2seq", checks=("build", "forward", "generate"))
    results = _results(job)
    assert results["generate"].status == Status.PASSED, results["generate"].message


def test_generate_of_a_model_that_encodes_its_audio_as_it_generates_is_fed_the_audio(inventory):
    """KyutaiSpeechToTextForConditionalGeneration.forward reads frames of text and audio-code ids, while its
    prepare_inputs_for_generation takes the raw audio (input_values) and encodes it window by window."""
    [job] = plan_jobs(inventory.get("kyutai_speech_to_text"), template="speech-seq2seq",
                      checks=("build", "forward", "generate"))
    results = _results(job)
    assert results["generate"].status == Status.PASSED, results["generate"].message


@pytest.mark.slow
def test_placeholders_are_counted_on_the_models_device_and_dtype(inventory):
    """The placeholder count runs the model's own feature method on the built (float32, CPU) inputs; they
    must follow the model to its dtype (and device: the same failure on CUDA), or a bfloat16 run fails."""
    import dataclasses

    [job] = plan_jobs(inventory.get("aria"), template=None, checks=("build", "forward"))
    results = _results(dataclasses.replace(job, dtype="bfloat16"))
    assert results["forward"].status is Status.PASSED, results["forward"].message


def test_a_model_without_a_generation_config_gets_no_ids_filled_and_no_error_of_ours():
    """4.50's jukebox has generation_config None: the failure must be its generate's, not hfscan's AttributeError."""
    from transformers import BertConfig

    from hfscan.harness.smoke import _fill_generation_ids

    _fill_generation_ids(None, BertConfig())
    gen = type("Gen", (), {"pad_token_id": None, "forced_eos_token_id": 3, "decoder_start_token_id": None})()
    _fill_generation_ids(gen, BertConfig(pad_token_id=5))
    assert (gen.pad_token_id, gen.forced_eos_token_id) == (5, None)
