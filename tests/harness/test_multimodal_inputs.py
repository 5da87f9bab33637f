"""Multimodal inputs: what a model's feature methods need is built before placeholders are counted,
sizes follow relations read from the config, and every modality is fed."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    GlmAsrConfig,
    Idefics3Config,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaNextConfig,
    LlavaNextForConditionalGeneration,
    Qwen3ASRConfig,
    Qwen3ASRForConditionalGeneration,
)

from hfscan.harness.inputs import BATCH, build_inputs
from hfscan.harness.records import Job, Status
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import run_job, templates


def _inputs(config_cls, model_cls, task="image-text-to-text"):
    cfg, _ = tiny_config(config_cls)
    torch.manual_seed(0)
    model = model_cls(cfg).eval()
    inputs, report = build_inputs(model, cfg, task, templates()["default"])
    return cfg, model, inputs, report


def _run(model_type: str, model_class: str, task: str):
    """The forward result of the real smoke job."""
    job = Job(model_type=model_type, model_class=model_class, task=task, checks=("build", "forward"))
    return {r.check: r for r in run_job(job)}["forward"]


def _placeholders(cfg, inputs, token_attr="image_token_id") -> int:
    return int((inputs["input_ids"] == getattr(cfg, token_attr)).sum())


def test_an_anyres_model_gets_its_image_sizes_and_tiles_before_placeholders_are_counted():
    cfg, model, inputs, report = _inputs(LlavaNextConfig, LlavaNextForConditionalGeneration)
    pinpoint = cfg.image_grid_pinpoints[0]
    size = cfg.vision_config.image_size
    assert inputs["image_sizes"].tolist() == [pinpoint] * BATCH
    assert inputs["pixel_values"].shape[:2] == (BATCH, 1 + (pinpoint[0] // size) * (pinpoint[1] // size))
    with torch.no_grad():
        feats = model.get_image_features(pixel_values=inputs["pixel_values"], image_sizes=inputs["image_sizes"])
        per_token = sum(f.numel() for f in feats.pooler_output) // cfg.text_config.hidden_size
        assert _placeholders(cfg, inputs) == per_token
        assert torch.isfinite(model(**inputs).logits).all()
    assert set(report.fed) == {"text", "image"}


def test_image_sizes_only_where_the_feature_method_requires_them():
    _, _, inputs, _ = _inputs(LlavaConfig, LlavaForConditionalGeneration)
    assert "image_sizes" not in inputs  # optional there: it would select a path a CLIP tower lacks


def test_a_pixel_shuffled_patch_grid_is_a_multiple_of_the_factor():
    default = Idefics3Config()
    assert (default.vision_config.image_size // default.vision_config.patch_size) % default.scale_factor
    cfg, _ = tiny_config(Idefics3Config)
    assert (cfg.vision_config.image_size // cfg.vision_config.patch_size) % cfg.scale_factor == 0
    forward = _run("idefics3", "Idefics3ForConditionalGeneration", "image-text-to-text")
    assert forward.status == Status.PASSED, forward.message
    assert set(forward.detail["modalities"]["fed"]) == {"text", "image"}


def test_a_chunked_audio_encoder_gets_whole_chunks_and_a_mask_over_time():
    cfg, model, inputs, report = _inputs(Qwen3ASRConfig, Qwen3ASRForConditionalGeneration, "speech-seq2seq")
    feats, mask = inputs["input_features"], inputs["input_features_mask"]
    assert feats.shape[1] == cfg.audio_config.num_mel_bins
    assert feats.shape[2] % (2 * cfg.audio_config.n_window) == 0
    assert mask.shape == (BATCH, feats.shape[2])
    assert _placeholders(cfg, inputs, "audio_token_id") > 0 and "audio" in report.fed
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()


def test_features_a_convolution_reads_channels_first_are_swapped():
    assert GlmAsrConfig().audio_config.num_mel_bins
    forward = _run("glmasr", "GlmAsrForConditionalGeneration", "speech-seq2seq")
    assert forward.status == Status.PASSED, forward.message
    shape = forward.detail["inputs"]["input_features"]
    assert shape[1] == GlmAsrConfig().audio_config.num_mel_bins  # (batch, mel, time)


def test_placeholders_are_counted_by_a_submodules_feature_method():
    from transformers import JanusConfig, JanusForConditionalGeneration

    cfg, model, inputs, _ = _inputs(JanusConfig, JanusForConditionalGeneration)
    assert not hasattr(model, "get_image_features")  # the head class wraps the base model that has it
    with torch.no_grad():
        feats = model.model.get_image_features(inputs["pixel_values"]).pooler_output
    assert _placeholders(cfg, inputs) == feats.shape[0] * feats.shape[1]


def test_pooled_tokens_per_image_divide_the_patch_grid():
    from transformers import Gemma3Config

    default = Gemma3Config()
    grid = default.vision_config.image_size // default.vision_config.patch_size
    assert grid % round(default.mm_tokens_per_image ** 0.5)  # the default config does not agree with itself
    cfg, _ = tiny_config(Gemma3Config)
    side = round(cfg.mm_tokens_per_image ** 0.5)
    assert side * side == cfg.mm_tokens_per_image and grid % side == 0
    forward = _run("gemma3", "Gemma3ForConditionalGeneration", "image-text-to-text")
    assert forward.status == Status.PASSED, forward.message


def test_an_optional_mask_documented_otherwise_is_left_out():
    granite = _run("granite_speech", "GraniteSpeechForConditionalGeneration", "speech-seq2seq")
    assert granite.status == Status.PASSED, granite.message
    assert "input_features_mask" not in granite.detail["inputs"]  # a mask over its projected features
    qwen2 = _run("qwen2_audio", "Qwen2AudioForConditionalGeneration", "speech-seq2seq")
    assert qwen2.status == Status.PASSED, qwen2.message  # documented (batch, frames); one placeholder it expands
    assert qwen2.detail["inputs"]["feature_attention_mask"] == qwen2.detail["inputs"]["input_features"][::2]


def test_native_aspect_patches_come_with_their_spatial_shapes_and_mask():
    from transformers import Siglip2VisionConfig, Siglip2VisionModel

    cfg, model, inputs, report = _inputs(Siglip2VisionConfig, Siglip2VisionModel, "base")
    side = round(cfg.num_patches ** 0.5)
    assert inputs["pixel_values"].shape == (BATCH, side * side, cfg.num_channels * cfg.patch_size ** 2)
    assert inputs["spatial_shapes"].tolist() == [[side, side]] * BATCH
    assert inputs["pixel_attention_mask"].shape == (BATCH, side * side)
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).last_hidden_state).all()
    _, _, llava, _ = _inputs(LlavaConfig, LlavaForConditionalGeneration)
    assert "spatial_shapes" not in llava and "pixel_attention_mask" not in llava


@pytest.mark.slow
def test_a_high_resolution_tower_gets_images_of_its_own_size():
    forward = _run("deepseek_vl_hybrid", "DeepseekVLHybridForConditionalGeneration", "image-text-to-text")
    assert forward.status == Status.PASSED, forward.message
    from transformers import DeepseekVLHybridConfig

    from hfscan.harness.shrink import tiny_config

    tiny = tiny_config(DeepseekVLHybridConfig)[0]  # its image sizes may be halved together
    size, low = tiny.high_res_vision_config.image_size, tiny.vision_config.image_size
    assert size != low and forward.detail["inputs"]["high_res_pixel_values"][-2:] == [size, size]


def test_arguments_a_wrapper_passes_on_to_the_base_models_feature_method_are_built():
    forward = _run("video_llama_3", "VideoLlama3ForConditionalGeneration", "image-text-to-text")
    assert forward.status == Status.PASSED, forward.message
    assert {"image_merge_sizes", "video_merge_sizes"} <= set(forward.detail["inputs"])
    assert set(forward.detail["modalities"]["fed"]) == {"text", "image", "video"}


def test_a_tower_reading_images_at_their_own_size_gets_small_ones():
    """Mistral3's vision tower takes images of any size up to image_size (1540 px: a 3000-token prompt that
    timed mistral_large4 out); images of a few merged patches a side are fed, with their placeholders."""
    from transformers import Mistral3Config, Mistral3ForConditionalGeneration

    from hfscan.harness.inputs import ANY_SIZE_PATCHES

    cfg, model, inputs, report = _inputs(Mistral3Config, Mistral3ForConditionalGeneration)
    side = ANY_SIZE_PATCHES * cfg.spatial_merge_size * cfg.vision_config.patch_size
    assert tuple(inputs["pixel_values"].shape[-2:]) == (side, side) < (cfg.vision_config.image_size,) * 2
    assert inputs["image_sizes"].tolist() == [[side, side]] * BATCH
    assert _placeholders(cfg, inputs, "image_token_index") == BATCH * ANY_SIZE_PATCHES ** 2
    with torch.no_grad():
        assert model(**inputs).logits.shape[:2] == inputs["input_ids"].shape
    _, _, inputs, _ = _inputs(LlavaNextConfig, LlavaNextForConditionalGeneration)  # a tile grid keeps its size
    assert inputs["pixel_values"].shape[-1] == 336


def test_an_image_generator_gets_the_grid_of_its_target_after_each_sample_s_images():
    """GlmImageModel documents images_per_sample as "Number of images (including target grids)" and feeds the vision
    tower all but each sample's last grid (modeling_glm_image.py:1314): each sample gets its image's grid and a
    target grid, and the count says so; without them the tower reads fewer grids than images (IndexError)."""
    from transformers import GlmImageConfig, GlmImageModel

    cfg, model, inputs, _ = _inputs(GlmImageConfig, GlmImageModel)
    assert inputs["images_per_sample"].tolist() == [2] * BATCH
    assert inputs["image_grid_thw"].shape[0] == 2 * BATCH
    with torch.no_grad():
        out = model(**inputs)
    assert out.last_hidden_state.shape[:2] == inputs["input_ids"].shape
    _, model, inputs, _ = _inputs(LlavaConfig, LlavaForConditionalGeneration)  # no target grids: one per image
    assert "images_per_sample" not in inputs


def test_flat_patches_come_with_hw_grids_and_videos_on_image_placeholders_are_left_out():
    """NemotronH_Omni_Reasoning_V3 takes flat patches with ``image_grid_hw`` ``(num_images, 2)`` and checks that the
    grids describe every patch (modeling_nemotron_h_omni.py:204); its video features fill image placeholders
    too (:443; the module reads no video token), so one call takes images or videos: images are fed."""
    import json

    job = Job(model_type="nemotron_h_omni", model_class="NemotronH_Omni_Reasoning_V3", task="image-text-to-text",
              checks=("build", "forward"), template="generic")  # its family's template (any-to-text)
    result = {r.check: r for r in run_job(job)}["forward"]
    assert result.status is Status.PASSED, result.message
    details = json.loads(result.details)
    shapes = details["inputs"]
    assert shapes["image_grid_hw"] == [BATCH, 2]
    assert shapes["pixel_values"][0] == BATCH * 2 * 2  # a 2 x 2 patch grid per image, as image_grid_hw says
    assert "pixel_values_videos" not in shapes
    assert {"text", "image"} <= set(details["modalities"]["fed"])
