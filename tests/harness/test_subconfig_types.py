"""Sub-config types built alone: what their composite parent would have given them is derived from its class."""

from __future__ import annotations


def test_a_text_config_built_alone_gets_the_rotary_sections_its_composite_would_give():
    """PaddleOCRTextConfig sets no mrope_section (the model code defaults [16, 24, 24], a split of the
    original half head width); its composite pairs it with a vision config that merges patch grids, so built
    alone it gets the sections rescaled to the tiny head, as it does inside the composite."""
    import torch
    from transformers import CONFIG_MAPPING, PaddleOCRTextConfig
    from transformers.models.paddleocr_vl.modeling_paddleocr_vl import PaddleOCRTextModel

    from hfscan.harness.shrink import _is_grid_text_class, tiny_config

    assert _is_grid_text_class(PaddleOCRTextConfig) and not _is_grid_text_class(CONFIG_MAPPING["llama"])
    cfg, _ = tiny_config(PaddleOCRTextConfig)
    sections = cfg.rope_parameters["mrope_section"]
    assert sum(sections) == cfg.head_dim // 2
    model = PaddleOCRTextModel(cfg).eval()
    with torch.no_grad():
        out = model(input_ids=torch.randint(0, cfg.vocab_size, (2, 8)))
    assert torch.isfinite(out.last_hidden_state).all()


def test_a_tower_without_a_feature_extractor_of_its_own_takes_its_composites():
    """dots3_note_audio_encoder has no feature extractor of its own; dots3_note's lays mel features out first,
    (batch, 128 mels, frames), which the tower's conv stem reads (a (frames, mels) layout fails its linear)."""
    from hfscan.harness.inputs import extractor_features_first, extractor_width
    from hfscan.harness.inputs.audio import _composite_types
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    assert "dots3_note" in _composite_types("dots3_note_audio_encoder") and not _composite_types("llama")
    assert extractor_width("dots3_note_audio_encoder") == extractor_width("dots3_note") == 128
    assert extractor_features_first("dots3_note_audio_encoder")
    job = Job(model_type="dots3_note_audio_encoder", model_class="Dots3NoteAudioModel", task="base",
              checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message
    assert forward.detail["inputs"]["input_features"][1] == 128


def test_rotary_sections_the_model_code_defaults_are_read_from_it_and_equal_sections_stay_equal():
    """Ernie 4.5 VL's text model defaults mrope_section to [22, 22, 20] in its code (not the rules' [16, 24,
    24]) and interleaves the first two pairwise, so they must stay equal when cut to the tiny head."""
    from transformers import CONFIG_MAPPING

    from hfscan.harness.records import Job, Status
    from hfscan.harness.shrink import _code_default, _split_evenly, tiny_config
    from hfscan.harness.smoke import run_job

    text = CONFIG_MAPPING["ernie4_5_vl_moe_text"]
    assert _code_default(text, "mrope_section") == [22, 22, 20]
    assert _code_default(CONFIG_MAPPING["llama"], "mrope_section") is None
    assert _split_evenly([22, 22, 20], 4) == [1, 1, 2] and _split_evenly([16, 24, 24], 4) == [2, 1, 1]
    cfg, _ = tiny_config(text)
    h, w, t = cfg.rope_parameters["mrope_section"]
    assert h == w and h + w + t == cfg.hidden_size // cfg.num_attention_heads // 2
    job = Job(model_type="ernie4_5_vl_moe_text", model_class="Ernie4_5_VLMoeTextModel", task="base",
              checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message


def test_a_vq_autoencoders_images_follow_its_latent_grid():
    """JanusVQVAEConfig declares no image size; its decoder checks num_patches x num_patches tokens
    (modeling_janus.py:868) from an encoder halving the image between its channel_multiplier levels: the
    grid is cut (only where channel_multiplier sits beside it) and the images are that grid times 2^(levels-1)."""
    from transformers import CONFIG_MAPPING, JanusVQVAEConfig

    from hfscan.harness.records import Job, Status
    from hfscan.harness.shrink import tiny_config
    from hfscan.harness.smoke import run_job

    cfg, _ = tiny_config(JanusVQVAEConfig)
    assert cfg.num_patches < JanusVQVAEConfig().num_patches
    siglip2, _ = tiny_config(CONFIG_MAPPING["siglip2_vision_model"])  # num_patches without levels: not cut so
    assert siglip2.num_patches == CONFIG_MAPPING["siglip2_vision_model"]().num_patches
    forward = {r.check: r for r in run_job(Job(model_type="janus_vqgan", model_class="JanusVQVAE", task="base",
                                               checks=("build", "forward")))}["forward"]
    assert forward.status == Status.PASSED, forward.message
    side = cfg.num_patches * 2 ** (len(cfg.channel_multiplier) - 1)
    assert forward.detail["inputs"]["pixel_values"][-2:] == [side, side]
