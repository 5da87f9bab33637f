"""Input builders: keyed by forward() argument, sized from the config, placeholders counted from the model."""

from __future__ import annotations

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    LlavaConfig,
    LlavaForConditionalGeneration,
    ViTConfig,
    ViTModel,
    WhisperConfig,
    WhisperForConditionalGeneration,
)

from hfscan.harness.inputs import BATCH, BUILDERS, build_inputs
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import templates


def _inputs(config_cls, model_cls, task, values=None):
    cfg, _ = tiny_config(config_cls)
    torch.manual_seed(0)
    model = model_cls(cfg).eval()
    inputs, report = build_inputs(model, cfg, task, templates()["default"], values)
    return cfg, model, inputs, report


def test_builders_are_keyed_by_forward_argument_names():
    for name in ("input_ids", "attention_mask", "pixel_values", "input_values", "input_features", "decoder_input_ids"):
        assert name in BUILDERS or name == "input_ids"


def test_text_inputs_stay_inside_the_vocabulary_and_avoid_special_tokens():
    cfg, model, inputs, report = _inputs(BertConfig, BertForSequenceClassification, "sequence-classification")
    ids = inputs["input_ids"]
    assert ids.shape == (BATCH, 8) and int(ids.max()) < cfg.vocab_size
    assert cfg.pad_token_id not in ids.tolist()[0]
    assert torch.equal(inputs["attention_mask"], torch.ones_like(ids))
    assert inputs["labels"].shape == (BATCH,)  # one class per sample: the task's mapping decides
    assert report.fed == ["text"] and not report.unknown_required
    with torch.no_grad():
        assert model(**inputs).loss is not None


def test_pixel_values_follow_the_config():
    cfg, _, inputs, report = _inputs(ViTConfig, ViTModel, "base")
    assert inputs["pixel_values"].shape == (BATCH, cfg.num_channels, cfg.image_size, cfg.image_size)
    assert report.fed == ["image"]


def test_audio_features_follow_the_config():
    cfg, _, inputs, report = _inputs(WhisperConfig, WhisperForConditionalGeneration, "speech-seq2seq")
    assert inputs["input_features"].shape == (BATCH, cfg.num_mel_bins, 2 * cfg.max_source_positions)
    assert "decoder_input_ids" in inputs and "audio" in report.fed


def test_image_placeholders_are_counted_from_the_model():
    cfg, model, inputs, report = _inputs(LlavaConfig, LlavaForConditionalGeneration, "image-text-to-text")
    with torch.no_grad():
        feats = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
    per_image = sum(f.numel() for f in feats) // cfg.text_config.hidden_size // BATCH
    assert int((inputs["input_ids"][0] == cfg.image_token_id).sum()) == per_image
    assert set(report.fed) == {"text", "image"}
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).logits).all()


def test_override_values_replace_a_builder():
    _, _, inputs, _ = _inputs(BertConfig, BertForSequenceClassification, "sequence-classification",
                              values={"token_type_ids": [[0, 1, 0, 1, 0, 1, 0, 1]] * BATCH})
    assert inputs["token_type_ids"].tolist()[0][:2] == [0, 1]


def test_a_missing_axis_on_pixels_is_the_configs_frames():
    from transformers import VideoMAEConfig, VideoMAEModel

    from hfscan.harness.inputs import build_one, with_axis

    cfg, _ = tiny_config(VideoMAEConfig)
    model = VideoMAEModel(cfg).eval()
    pixels = build_one(model, cfg, "pixel_values")
    video = with_axis(cfg, "pixel_values", pixels)
    assert video.shape == (BATCH, cfg.num_frames, *pixels.shape[1:])
    assert not torch.equal(video[:, 0], video[:, 1])  # distinct frames
    with torch.no_grad():
        assert model(pixel_values=video).last_hidden_state.shape[0] == BATCH
    vit, _ = tiny_config(ViTConfig)  # no frames declared: an axis of one
    assert with_axis(vit, "pixel_values", pixels).shape == (BATCH, 1, *pixels.shape[1:])
    assert with_axis(vit, "pixel_values", pixels, 2).shape == (BATCH, 2, *pixels.shape[1:])  # e.g. an image pair


def test_the_decoder_mask_follows_the_decoder_ids_not_the_longer_prompt():
    from transformers import Florence2Config, Florence2ForConditionalGeneration

    _, _, inputs, _ = _inputs(Florence2Config, Florence2ForConditionalGeneration, "image-text-to-text")
    assert inputs["input_ids"].shape[1] > inputs["decoder_input_ids"].shape[1]  # image placeholders in the prompt
    assert inputs["decoder_attention_mask"].shape == inputs["decoder_input_ids"].shape


def test_stacked_audio_frames_take_the_projection_input_width():
    from transformers import Wav2Vec2BertConfig, Wav2Vec2BertModel

    cfg, model, inputs, _ = _inputs(Wav2Vec2BertConfig, Wav2Vec2BertModel, "base")
    assert inputs["input_features"].shape[-1] == cfg.feature_projection_input_dim != 80  # not the default mel width
    with torch.no_grad():
        assert model(**inputs).last_hidden_state.shape[-1] == cfg.hidden_size


def test_task_prompt_and_in_context_prompt_builders():
    from transformers import OneFormerConfig, OneFormerForUniversalSegmentation, SegGptConfig, SegGptModel

    cfg, model, inputs, report = _inputs(OneFormerConfig, OneFormerForUniversalSegmentation, "universal-segmentation")
    assert inputs["task_inputs"].shape == (BATCH, cfg.task_seq_len) and not report.unknown_required
    _, _, inputs, report = _inputs(SegGptConfig, SegGptModel, "base")
    assert inputs["prompt_pixel_values"].shape == inputs["prompt_masks"].shape == inputs["pixel_values"].shape
    assert not report.unknown_required


def test_a_codebook_decoder_gets_one_row_of_ids_per_codebook():
    from transformers import MusicgenConfig, MusicgenForConditionalGeneration

    cfg, model, inputs, _ = _inputs(MusicgenConfig, MusicgenForConditionalGeneration, "text-to-audio")
    assert inputs["decoder_input_ids"].shape[0] == BATCH * cfg.decoder.num_codebooks > BATCH
    with torch.no_grad():
        assert model(**inputs).logits.shape[0] == inputs["decoder_input_ids"].shape[0]


def test_a_required_argument_no_builder_knows_is_shaped_as_its_docstring_documents():
    import torch
    from transformers import PretrainedConfig

    from hfscan.harness.inputs import BATCH, FREE_DIM, build_inputs

    class Decoder(torch.nn.Module):
        def forward(self, latents, region_ids):
            """
            Args:
                latents (`torch.Tensor` of shape `(batch_size, hidden_size, frames)`):
                    Continuous latents.
                region_ids (`torch.LongTensor` of shape `(batch_size, 3)`):
                    Indices.
            """
            return latents

    config = PretrainedConfig(hidden_size=12)
    values, report = build_inputs(Decoder(), config, "base", {}, with_labels=False)
    assert not report.unknown_required
    assert values["latents"].shape == (BATCH, 12, FREE_DIM) and values["latents"].is_floating_point()
    assert values["region_ids"].shape == (BATCH, 3) and values["region_ids"].dtype == torch.long

    class Undocumented(torch.nn.Module):
        def forward(self, mystery):
            return mystery

    _, report = build_inputs(Undocumented(), config, "base", {}, with_labels=False)
    assert report.unknown_required == ["mystery"]


def test_a_documented_idx_argument_is_built_as_indices():
    """Molmo2Adapter indexes its flattened features with pooled_patches_idx (a float tensor cannot index)."""
    from transformers import Molmo2Adapter, Molmo2AdapterConfig

    _, model, inputs, report = _inputs(Molmo2AdapterConfig, Molmo2Adapter, "base")
    assert not report.unknown_required and inputs["pooled_patches_idx"].dtype == torch.long
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).last_hidden_state).all()


def test_an_undocumented_first_argument_read_by_a_2d_convolution_and_its_mask():
    """Florence2's vision backbone takes images as `hidden_states` (a 3-channel patch conv2d reads them);
    Phi-4's audio encoder takes (frames, features) it gives one channel, and a required undocumented mask."""
    from transformers import Florence2VisionConfig, Phi4MultimodalAudioConfig
    from transformers.models.florence2.modeling_florence2 import Florence2VisionBackbone
    from transformers.models.phi4_multimodal.modeling_phi4_multimodal import Phi4MultimodalAudioModel

    _, model, inputs, report = _inputs(Florence2VisionConfig, Florence2VisionBackbone, "base")
    assert not report.unknown_required and inputs["hidden_states"].dim() == 4
    with torch.no_grad():
        assert torch.isfinite(model(**inputs).last_hidden_state).all()
    cfg, model, inputs, report = _inputs(Phi4MultimodalAudioConfig, Phi4MultimodalAudioModel, "base")
    assert not report.unknown_required and inputs["hidden_states"].shape[-1] == cfg.input_size
    assert inputs["mask"].shape == inputs["hidden_states"].shape[:2] and bool(inputs["mask"].all())
    with torch.no_grad():
        assert torch.isfinite(model(**inputs)[0]).all()


def test_a_conformers_convolution_widths_follow_the_hidden_width():
    from transformers import Phi4MultimodalAudioConfig

    cfg, _ = tiny_config(Phi4MultimodalAudioConfig)
    assert cfg.nemo_conv_channels == cfg.ext_pw_out_channel == cfg.depthwise_separable_out_channel <= 64


def test_to_device_moves_tensors_nested_in_lists_and_dicts():
    from collections import namedtuple

    import torch

    from hfscan.harness.inputs import to_device

    pair = namedtuple("pair", "a b")(1, 2)
    value = {"pixels": [torch.zeros(2), (torch.ones(1),)], "ids": torch.arange(3), "pair": pair, "n": 4}
    moved = to_device(value, "cpu", torch.bfloat16)
    assert moved["pixels"][0].dtype is torch.bfloat16 and moved["pixels"][1][0].dtype is torch.bfloat16
    assert isinstance(moved["pixels"][1], tuple)
    assert moved["ids"].dtype is torch.int64  # integer tensors keep their dtype
    assert moved["pair"] is pair and moved["n"] == 4
