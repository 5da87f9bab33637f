"""Pixel layouts and the config relations of vision towers: patch axes, images/tiles per sample, documented
patch rows, merged-patch widths, grouped vision heads."""

from __future__ import annotations

import pytest
import torch

from hfscan.harness.inputs import patch_axes, with_axes
from hfscan.harness.records import Job, Status
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import run_job


def test_flat_patches_get_their_channel_and_patch_axes_back():
    from transformers import Qwen2VLConfig

    cfg, _ = tiny_config(Qwen2VLConfig)
    patch = cfg.vision_config.patch_size
    flat = torch.rand(8, 3 * patch * patch)
    assert patch_axes(cfg, flat).shape == (8, 3, patch, patch)
    assert torch.equal(patch_axes(cfg, flat).flatten(1), flat)
    assert patch_axes(cfg, torch.rand(8, 5)) is None  # not patches of this config


def test_missing_axes_are_one_image_of_the_configs_tiles():
    from transformers import LlavaConfig, MllamaConfig

    pixels = torch.rand(2, 3, 4, 4)
    assert with_axes(LlavaConfig(), pixels, 1).shape == (2, 1, 3, 4, 4)  # images per sample
    tiled = with_axes(MllamaConfig(), pixels, 2)  # images per sample, then max_num_tiles tiles of each
    assert tiled.shape == (2, 1, MllamaConfig().vision_config.max_num_tiles, 3, 4, 4)
    assert torch.equal(tiled[:, 0, 0], pixels)


def test_a_projector_width_of_merged_patches_stays_the_towers_width_times_the_merge():
    from transformers import MuseSparkConfig

    original = MuseSparkConfig()
    v = original.vision_config
    assert original.out_hidden_size == v.hidden_size * v.merge_size ** 2
    cfg, report = tiny_config(MuseSparkConfig)
    assert cfg.vision_config.hidden_size < v.hidden_size
    assert cfg.out_hidden_size == cfg.vision_config.hidden_size * cfg.vision_config.merge_size ** 2
    assert "out_hidden_size" in {p for p, _, _ in report.shrunk}


def test_grouped_vision_heads_keep_their_ratio():
    from transformers import Exaone4_5_VisionConfig

    original = Exaone4_5_VisionConfig()
    cfg, _ = tiny_config(Exaone4_5_VisionConfig)
    assert cfg.num_heads < original.num_heads
    assert cfg.num_heads // cfg.num_key_value_heads == original.num_heads // original.num_key_value_heads


@pytest.mark.slow
@pytest.mark.parametrize("model_type, model_class", [
    ("kimi_k25_vision", "Kimi_K25VisionModel"),  # flat patches read by a 2-D patch convolution
    ("inkling2_vision", "Inkling2VisionModel"),  # rows as the tower documents them (merged patch, channels)
    ("exaone4_5_vision", "Exaone4_5_VisionModel"),  # num_heads / num_key_value_heads
])
def test_vision_towers_with_their_own_pixel_layout_pass(model_type, model_class):
    job = Job(model_type=model_type, model_class=model_class, task="base", checks=("build", "forward"))
    results = {r.check: r for r in run_job(job)}
    assert results["forward"].status == Status.PASSED, results["forward"].message


def test_a_projector_width_that_was_the_towers_width_stays_equal_to_it():
    from transformers import Kimi_K25Config

    original = Kimi_K25Config()
    assert original.projection_hidden_size == original.vision_config.hidden_size
    cfg, _ = tiny_config(Kimi_K25Config)
    assert cfg.vision_config.hidden_size < original.vision_config.hidden_size
    assert cfg.projection_hidden_size == cfg.vision_config.hidden_size


@pytest.mark.slow
@pytest.mark.parametrize("model_type, model_class", [
    ("idefics", "IdeficsForVisionText2Text"),  # images per sample, and which images each token attends to
    ("video_llama_3_vision", "VideoLlama3VisionModel"),  # merge_sizes: one merge size per image
])
def test_multimodal_models_with_images_per_sample_pass(model_type, model_class):
    job = Job(model_type=model_type, model_class=model_class, task="base", checks=("build", "forward"))
    results = {r.check: r for r in run_job(job)}
    assert results["forward"].status == Status.PASSED, results["forward"].message
    if model_type == "idefics":
        inputs = results["forward"].detail["inputs"]
        assert inputs["pixel_values"][:2] == [2, 1] and inputs["image_attention_mask"] == [*inputs["input_ids"], 1]


@pytest.mark.slow
@pytest.mark.parametrize("model_type, model_class", [
    ("granite_docling", "GraniteDoclingForConditionalGeneration"),  # tiles per sample as get_image_features
    # documents them, with a boolean (batch, tiles) mask that indexes them
    ("colqwen2", "ColQwen2ForRetrieval"),  # flat patches padded per sample, (batch, patches, patch width)
])
def test_documented_tiles_and_per_sample_rows_pass(model_type, model_class):
    job = Job(model_type=model_type, model_class=model_class, task="base", checks=("build", "forward"))
    results = {r.check: r for r in run_job(job)}
    assert results["forward"].status == Status.PASSED, results["forward"].message
    if model_type == "granite_docling":
        assert results["forward"].detail["inputs"]["pixel_values"][:2] == [2, 1]


def test_indices_into_the_vision_towers_hidden_states_follow_its_cut_depth():
    from transformers import LlavaConfig, VipLlavaConfig

    original = VipLlavaConfig()
    cfg, _ = tiny_config(VipLlavaConfig)
    states = cfg.vision_config.num_hidden_layers + 1  # the embeddings and every layer
    assert len(cfg.vision_feature_layer) == len(original.vision_feature_layer)  # the projector counts them
    assert all(-states <= i < states for i in cfg.vision_feature_layer)
    assert [i < 0 for i in cfg.vision_feature_layer] == [i < 0 for i in original.vision_feature_layer]
    assert tiny_config(LlavaConfig)[0].vision_feature_layer == LlavaConfig().vision_feature_layer == -2


@pytest.mark.slow
def test_images_a_linear_patch_embedding_reads_are_cut_into_flattened_patches():
    job = Job(model_type="fuyu", model_class="FuyuForCausalLM", task="causal-lm", checks=("build", "forward"))
    results = {r.check: r for r in run_job(job)}
    assert results["forward"].status == Status.PASSED, results["forward"].message
    from transformers import FuyuConfig

    cfg = FuyuConfig()  # (batch, patches, channels x patch x patch), not (batch, channels, height, width)
    assert results["forward"].detail["inputs"]["pixel_values"][-1] == cfg.num_channels * cfg.patch_size ** 2


def test_rotary_sections_a_grid_models_code_defaults_are_set_for_the_tiny_head():
    from transformers import LlamaConfig, PaddleOCRVLConfig

    assert "mrope_section" not in PaddleOCRVLConfig().text_config.rope_parameters  # the modeling code's default
    text = tiny_config(PaddleOCRVLConfig)[0].text_config
    assert sum(text.rope_parameters["mrope_section"]) == text.head_dim // 2
    assert "mrope_section" not in tiny_config(LlamaConfig)[0].rope_parameters  # no vision tower beside it


def test_flattened_patches_carry_their_grid_positions_first():
    from transformers import Pix2StructConfig, Pix2StructForConditionalGeneration

    from hfscan.harness.inputs import build_inputs
    from hfscan.harness.smoke import templates

    cfg, _ = tiny_config(Pix2StructConfig)
    model = Pix2StructForConditionalGeneration(cfg).eval()
    inputs, report = build_inputs(model, cfg, "seq2seq-lm", templates()["default"])
    patches = inputs["flattened_patches"]
    assert patches.shape[-1] == 2 + cfg.vision_config.patch_embed_hidden_size
    assert patches[..., :2].min() >= 1 and patches[..., :2].max() < cfg.vision_config.seq_len  # embedding rows
    assert "image" in report.fed
    with torch.no_grad():
        assert model(**inputs).logits.shape[0] == 2


def test_images_get_a_patch_grid_the_projector_has_queries_for():
    from transformers import AriaConfig

    original = AriaConfig()
    v = original.vision_config
    assert (v.image_size // v.patch_size) ** 2 not in original.projector_patch_to_query_dict  # the default's 49
    cfg, _ = tiny_config(AriaConfig)
    v = cfg.vision_config
    assert (v.image_size // v.patch_size) ** 2 == min(cfg.projector_patch_to_query_dict)


def test_a_videos_patch_grid_spans_the_frames_the_model_merges():
    from transformers import Ernie4_5_VLMoeConfig, Qwen2VLConfig

    from hfscan.harness.inputs import Context
    from hfscan.harness.inputs.vision import _grid

    for config_class in (Ernie4_5_VLMoeConfig, Qwen2VLConfig):
        cfg, _ = tiny_config(config_class)
        ctx = Context(model=None, config=cfg, task="", torch=torch)
        frames = getattr(cfg.vision_config, "temporal_merge_size", 1)
        assert _grid(ctx, video=True) == (frames, *_grid(ctx)[1:]) and _grid(ctx)[0] == 1


def test_patches_documented_as_rows_of_all_images_and_their_placeholders():
    from transformers import NeoMMEConfig, NeoMMEModel

    from hfscan.harness.inputs import FLAT_PATCHES, build_inputs
    from hfscan.harness.smoke import templates

    cfg, _ = tiny_config(NeoMMEConfig)  # (num_patches, 3 * patch_size ** 2); a token table wider than the text
    model = NeoMMEModel(cfg).eval()
    inputs, _ = build_inputs(model, cfg, "base", templates()["default"])
    assert inputs["pixel_values"].shape == (2 * FLAT_PATCHES, 3 * cfg.patch_size ** 2)
    assert model.get_input_embeddings().embedding_dim != cfg.hidden_size
    assert int((inputs["input_ids"] == cfg.image_token_id).sum()) == 2 * FLAT_PATCHES  # one per patch row


def test_a_width_stacking_listed_layers_follows_the_cut_list():
    from transformers import MllamaConfig

    original = MllamaConfig().vision_config
    assert original.vision_output_dim == original.hidden_size * (len(original.intermediate_layers_indices) + 1)
    v = tiny_config(MllamaConfig)[0].vision_config
    assert len(v.intermediate_layers_indices) < len(original.intermediate_layers_indices)
    assert v.vision_output_dim == v.hidden_size * (len(v.intermediate_layers_indices) + 1)


@pytest.mark.slow
def test_tiled_images_pass():  # tiles per image (max_num_tiles), aspect ratio ids and mask per image
    job = Job(model_type="mllama", model_class="MllamaForConditionalGeneration", task="image-text-to-text",
              checks=("build", "forward"))
    results = {r.check: r for r in run_job(job)}
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert results["forward"].detail["inputs"]["aspect_ratio_mask"] == [2, 1, 4]
