"""Inputs that multimodal feature methods need beyond pixels and audio, and placeholder counts that match
the features: each test builds a small real model and checks the built inputs against the model itself."""

from __future__ import annotations

import pytest
import torch
import transformers

from hfscan.harness.inputs import BATCH, build_inputs
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import templates


def _model(config_cls, model_cls):
    cfg, _ = tiny_config(config_cls)
    torch.manual_seed(0)
    return cfg, model_cls(cfg).eval()


def _placeholders(cfg, inputs, token_attr="image_token_id") -> int:
    return int((inputs["input_ids"] == getattr(cfg, token_attr)).sum())


# one mechanism (NaViT packing with target_sizes, the merger's layer index rescaled) moves the group
@pytest.mark.parametrize("prefix", ["MiniCPMV4_6", "MiniCPMV4_7", "MiniCPMOcr"])
def test_packed_images_come_with_their_patch_grids_and_the_merger_layer_stays_inside_the_depth(prefix):
    cfg, model = _model(getattr(transformers, f"{prefix}Config"),
                        getattr(transformers, f"{prefix}ForConditionalGeneration"))
    vision = cfg.vision_config
    assert 0 <= vision.insert_layer_id < vision.num_hidden_layers  # the window merger runs
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    pixels, sizes = inputs["pixel_values"], inputs["target_sizes"]
    assert pixels.shape[0] == 1 and sizes.shape == (BATCH, 2)  # every image's patches in one row
    assert pixels.shape[-1] == int((sizes[:, 0] * sizes[:, 1]).sum()) * vision.patch_size
    with torch.no_grad():
        feats = model.get_image_features(pixels, sizes).pooler_output
        assert _placeholders(cfg, inputs) == sum(f.shape[0] for f in feats)
        assert torch.isfinite(model(**inputs).logits).all()
    assert {"text", "image"} <= set(report.fed)


def test_a_layer_index_a_parent_config_copies_down_is_rescaled_with_the_sub_configs_depth():
    cfg, _ = tiny_config(transformers.MiniCPMV4_6Config)
    assert cfg.insert_layer_id == cfg.vision_config.insert_layer_id < cfg.vision_config.num_hidden_layers


@pytest.mark.parametrize("config_cls", [transformers.Qwen2_5OmniThinkerConfig, transformers.Qwen3OmniMoeThinkerConfig])
def test_projection_widths_follow_a_text_width_rounded_up_to_its_heads(config_cls):
    cfg, report = tiny_config(config_cls)
    text = cfg.get_text_config(decoder=True)
    assert text.hidden_size % text.num_attention_heads == 0
    assert any(name == "text_config.hidden_size" for name, *_ in report.shrunk)
    assert cfg.vision_config.out_hidden_size == cfg.audio_config.output_dim == text.hidden_size


def test_a_token_id_the_model_reads_but_its_config_lacks_gets_a_free_id():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    job = Job(model_type="qwen2_5_omni_thinker", model_class="Qwen2_5OmniThinkerForConditionalGeneration",
              task="image-text-to-text", checks=("build", "forward"))
    assert "vision_start_token_id" not in vars(transformers.Qwen2_5OmniThinkerConfig())
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message


def test_a_raw_audio_padding_mask_is_built_where_the_audio_feature_method_takes_it():
    cfg, model = _model(transformers.MossTranscribeDiarizeConfig, transformers.MossTranscribeDiarizeForConditionalGeneration)
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    assert inputs["padding_mask"].shape[0] == BATCH and inputs["padding_mask"].all()
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()
    assert set(report.fed) == {"text", "audio"}
    llava_cfg, llava = _model(transformers.LlavaConfig, transformers.LlavaForConditionalGeneration)
    assert "padding_mask" not in build_inputs(llava, llava_cfg, "image-text-to-text", templates()["default"])[0]


def test_placeholders_a_feature_method_cannot_count_are_taken_from_the_models_own_check():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    cfg, model = _model(transformers.MusicFlamingoConfig, transformers.MusicFlamingoForConditionalGeneration)
    first, _ = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    with pytest.raises(ValueError, match="tokens do not match"):  # the feature method needs the ids it counts
        with torch.no_grad():
            model(**first)
    job = Job(model_type="musicflamingo", model_class="MusicFlamingoForConditionalGeneration",
              task="image-text-to-text", checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message


def test_flat_patches_come_with_their_grid_positions_and_the_pooling_kernel_divides_the_grid():
    cfg, model = _model(transformers.Gemma4VisionConfig, transformers.Gemma4VisionModel)
    inputs, report = build_inputs(model, cfg, "base", templates()["default"])
    patches, positions = inputs["pixel_values"], inputs["pixel_position_ids"]
    side = int(positions[0, :, 0].max()) + 1
    assert patches.shape == (BATCH, side * side, 3 * cfg.patch_size**2) and side % cfg.pooling_kernel_size == 0
    assert positions.shape == (BATCH, side * side, 2) and (positions >= 0).all()
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).last_hidden_state).all()
    assert report.fed == ["image"]


def test_optional_modality_towers_are_built_and_audio_follows_the_feature_extractor():
    cfg, report = tiny_config(transformers.Gemma4Config)
    assert cfg.vision_config is not None and cfg.audio_config is not None
    assert ("audio_config", None, "gemma4_audio") in report.shrunk
    model = transformers.Gemma4ForConditionalGeneration(cfg).eval()
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    assert inputs["input_features"].shape[-1] == 128  # Gemma4AudioFeatureExtractor.feature_size
    assert inputs["input_features_mask"].dtype == torch.bool  # as the extractor gives it (indexed with)
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()
    assert set(report.fed) == {"text", "image", "video", "audio"}


def test_audio_chunks_laid_out_as_the_extractor_does_with_the_samples_each_stands_for():
    cfg, model = _model(transformers.Dots3NoteConfig, transformers.Dots3NoteForConditionalGeneration)
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    feats, lengths = inputs["input_features"], inputs["chunk_sample_lengths"]
    assert feats.shape[1] == cfg.audio_config.feature_size  # (chunks, mel, frames) as Dots3NoteFeatureExtractor
    assert lengths.tolist() == [feats.shape[2] * cfg.audio_config.hop_length] * feats.shape[0]
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()
    assert "audio" in report.fed


def test_a_head_width_that_was_a_sum_of_parts_stays_their_sum_also_across_per_layer_overrides():
    cfg, _ = tiny_config(transformers.Dots3NoteTextConfig)  # its validator checks the sum per layer type
    sliding = cfg.per_layer_config["sliding_attention"]
    assert sliding.head_dim == sliding.qk_nope_head_dim + sliding.qk_rope_head_dim
    assert cfg.num_hidden_layers == len(cfg.layer_types)


def test_video_placeholders_a_model_tells_only_by_the_videos_frame_are_image_tokens_inside_that_frame():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    cfg, model = _model(transformers.Glm5NextConfig, transformers.Glm5NextForConditionalGeneration)
    plain, _ = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    with pytest.raises(ValueError, match="video tokens do not match, tokens: 0"):  # its video token is no placeholder
        with torch.no_grad():
            model(**plain)
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"], framed={"video"})
    ids, types = inputs["input_ids"], inputs["mm_token_type_ids"]
    inside = ((ids == cfg.video_start_token_id).cumsum(-1) > (ids == cfg.video_end_token_id).cumsum(-1))
    framed = inside & (ids == cfg.image_token_id)
    assert framed.any() and (types[framed] == 2).all()
    assert (types[(ids == cfg.image_token_id) & ~inside] == 1).all()  # the images' placeholders stay images'
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()
    assert set(report.fed) == {"text", "image", "video"}
    job = Job(model_type="glm5_next", model_class="Glm5NextForConditionalGeneration", task="image-text-to-text",
              checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message


def test_features_a_method_returns_only_per_decoder_layer_are_counted_by_the_models_own_check():
    from hfscan.harness.overrides import Override
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    # a tower whose tiles, windows and spatial (2x2) downsampling fit together: pinpoints of 336-pixel tiles
    config = {"deepstack_layer_map": [[0, 0], [1, 1]], "downsample_rate": "4/8",
              "vision_config": {"hidden_size": 64, "image_size": 336, "patch_size": 42}}
    cfg, _ = tiny_config(transformers.Granite4VisionConfig, config)
    torch.manual_seed(0)
    model = transformers.Granite4VisionForConditionalGeneration(cfg).eval()
    with torch.no_grad():
        out = model.get_image_features(torch.rand(1, 3, 3, 336, 336), torch.tensor([[336, 672]]))
    assert out.pooler_output is None and out.last_hidden_state is None and out.deepstack_features
    build_inputs(model, cfg, "image-text-to-text", templates()["default"])  # no count: no error either
    override = Override(model_type="granite4_vision", reason="test", config=config)
    job = Job(model_type="granite4_vision", model_class="Granite4VisionForConditionalGeneration",
              task="image-text-to-text", checks=("build", "forward"), override=override.to_json())
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message
