"""Audio, codec and time-series inputs: widths and lengths read from the model's own config and errors."""

from __future__ import annotations

from hfscan.harness.records import Job, Status
from hfscan.harness.smoke import run_job


def _run(model_type: str, model_class: str, task: str = "base", template: str | None = None):
    """The forward result of the real smoke job."""
    job = Job(model_type=model_type, model_class=model_class, task=task, checks=("build", "forward"),
              template=template)
    return {r.check: r for r in run_job(job)}["forward"]


def test_features_a_causal_convolution_pads_before_reading_channels_first_are_swapped():
    from transformers import VoxtralRealtimeEncoderConfig

    forward = _run("voxtral_realtime_encoder", "VoxtralRealtimeEncoder")
    assert forward.status == Status.PASSED, forward.message
    assert forward.detail["inputs"]["input_features"][1] == VoxtralRealtimeEncoderConfig().num_mel_bins


def _inputs(model_type: str, model_class: str, task: str = "base", values: dict | None = None):
    import torch
    import transformers
    from transformers import CONFIG_MAPPING

    from hfscan.harness.inputs import build_inputs
    from hfscan.harness.shrink import tiny_config
    from hfscan.harness.smoke import templates

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type], values)
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(cfg).eval()
    inputs, report = build_inputs(model, cfg, task, templates()["default"])
    with torch.no_grad():
        out = model(**inputs)
    return cfg, inputs, report, out


def test_documented_shapes_in_brackets_with_config_expressions_are_sized_from_the_config():
    # a window as long as context and block together: with a shorter one (the shrinker's, so that the sliding
    # mask masks) this drafter's attention fails on its mask's size (transformers 5.24.0), a failure of its own
    cfg, inputs, report, out = _inputs("muse_glimmer_assistant", "MuseGlimmerAssistantModel", values={"sliding_window": 64})
    assert not report.unknown_required
    # `[batch_size, config.block_size, dim]` and `[batch_size, ..., dim * len(config.target_layer_ids)]`
    assert inputs["noise_embeds"].shape == (2, cfg.block_size, cfg.hidden_size)
    assert inputs["context_hidden_states"].shape[-1] == cfg.hidden_size * len(cfg.target_layer_ids)
    assert out.last_hidden_state.isfinite().all()


def test_a_decoder_of_values_gets_documented_frames():
    cfg, inputs, _, out = _inputs("speecht5", "SpeechT5ForTextToSpeech", "text-to-spectrogram")
    assert inputs["decoder_input_values"].shape[-1] == cfg.num_mel_bins  # (batch, frames, config.num_mel_bins)
    assert out.spectrogram.isfinite().all()


def test_series_documented_one_per_sample_are_rows():
    for model_type, cls in (("timesfm", "TimesFmModelForPrediction"), ("timesfm2_5", "TimesFm2_5ModelForPrediction")):
        _, inputs, report, _ = _inputs(model_type, cls, "time-series-prediction")
        assert inputs["past_values"].dim() == 2 and "time-series" in report.fed, model_type


def test_a_model_with_only_optional_arguments_gets_the_documented_ones():
    cfg, inputs, _, out = _inputs("decision_transformer", "DecisionTransformerModel")
    assert inputs["states"].shape[-1] == cfg.state_dim and inputs["actions"].shape[-1] == cfg.act_dim
    assert not inputs["timesteps"].is_floating_point()  # indices of the timestep embedding
    assert out.last_hidden_state.isfinite().all()


def test_too_many_indices_for_raw_audio_adds_the_channel_axis():
    forward = _run("vibevoice_asr", "VibeVoiceAsrForConditionalGeneration", "speech-seq2seq")
    assert forward.status == Status.PASSED, forward.message
    assert len(forward.detail["inputs"]["input_values"]) == 3


def test_features_are_widened_to_what_the_layer_reading_them_takes():
    from transformers import GraniteSpeech5EncoderConfig

    forward = _run("granite_speech5_encoder", "GraniteSpeech5Encoder")
    assert forward.status == Status.PASSED, forward.message
    # the front end stacks delta-expanded frames: 4 x the mel width reaches its first linear layer
    assert forward.detail["inputs"]["input_features"][-1] == 4 * GraniteSpeech5EncoderConfig().num_mel_bins


def test_a_width_that_was_a_multiple_of_its_base_width_keeps_the_multiple():
    from transformers import ClapAudioConfig

    from hfscan.harness.shrink import tiny_config

    default = ClapAudioConfig()
    times = default.hidden_size // default.patch_embeds_hidden_size
    assert times * default.patch_embeds_hidden_size == default.hidden_size and times > 1
    cfg, _ = tiny_config(ClapAudioConfig)
    assert cfg.hidden_size < default.hidden_size and cfg.patch_embeds_hidden_size * times == cfg.hidden_size
    assert _run("clap", "ClapModel").status == Status.PASSED


def test_an_undocumented_first_argument_is_shaped_for_the_first_layer():
    _, inputs, report, out = _inputs("vibevoice_acoustic_tokenizer_encoder", "VibeVoiceAcousticTokenizerEncoderModel")
    assert not report.unknown_required and inputs["hidden_states"].shape[:2] == (2, 1)  # a mono waveform
    cfg, inputs, _, out = _inputs("vibevoice_acoustic_tokenizer_decoder", "VibeVoiceAcousticTokenizerDecoderModel")
    assert inputs["hidden_states"].shape[1] == cfg.hidden_size > 1  # latent frames, channels first
    assert out.audio.isfinite().all()


def test_mel_frames_and_their_padding_mask():
    cfg, inputs, report, out = _inputs("gemma3n_audio", "Gemma3nAudioEncoder")
    assert inputs["audio_mel"].shape[-1] == cfg.input_feat_size and "audio" in report.fed
    assert not inputs["audio_mel_mask"].any()  # no frame is padding
    assert out.last_hidden_state.abs().sum() > 0


def test_audio_the_model_takes_in_whole_frames_is_padded_to_a_multiple():
    forward = _run("muse_spark_audio", "MuseSparkAudioModel")
    assert forward.status == Status.PASSED, forward.message
    samples = forward.detail["inputs"]["input_values"][-1]
    assert samples >= 8000 and samples % 1920 == 0  # the length the error asked a multiple of


def test_features_read_as_embeddings_take_the_models_width():
    from hfscan.harness.shrink import tiny_config
    from transformers import Pop2PianoConfig

    forward = _run("pop2piano", "Pop2PianoForConditionalGeneration", "speech-seq2seq", "speech-seq2seq")
    assert forward.status == Status.PASSED, forward.message
    assert forward.detail["inputs"]["input_features"][-1] == tiny_config(Pop2PianoConfig)[0].d_model


def test_codebook_decoders_get_per_sample_masks_and_their_documented_codebook_layout():
    forward = _run("musicgen_melody", "MusicgenMelodyForConditionalGeneration", "text-to-waveform", "text-to-audio")
    assert forward.status == Status.PASSED, forward.message
    shapes = forward.detail["inputs"]
    assert shapes["decoder_input_ids"][0] > 2 and shapes["decoder_attention_mask"][0] == 2  # rows per codebook
    from transformers import DiaConfig

    forward = _run("dia", "DiaForConditionalGeneration", "speech-seq2seq", "speech-seq2seq")
    assert forward.status == Status.PASSED, forward.message
    # (batch, length, codebooks) as documented, the codebooks being the decoder's channels
    assert forward.detail["inputs"]["decoder_input_ids"][-1] == DiaConfig().decoder_config.num_channels


def test_a_width_that_was_the_sum_of_two_streams_stays_their_sum():
    from transformers import Xcodec2Config, XcodecConfig

    from hfscan.harness.shrink import tiny_config

    default = Xcodec2Config()
    assert default.quantization_dim == default.hidden_size + default.semantic_model_config.hidden_size
    cfg, _ = tiny_config(Xcodec2Config)
    assert cfg.quantization_dim == cfg.hidden_size + cfg.semantic_model_config.hidden_size < default.quantization_dim
    cfg, _ = tiny_config(XcodecConfig)  # the acoustic width is derived by its constructor: read after the rebuild
    assert cfg.codebook_dim == cfg.acoustic_model_config.hidden_size + cfg.semantic_model_config.hidden_size
    assert _run("xcodec", "XcodecModel").status == Status.PASSED


def test_features_joined_with_the_raw_audio_get_as_many_frames():
    forward = _run("xcodec2", "Xcodec2Model")
    assert forward.status == Status.PASSED, forward.message
    shapes = forward.detail["inputs"]
    assert shapes["input_features"][1] == shapes["input_values"][-1] // 320  # the acoustic encoder's hop


def test_audio_clips_cut_by_cutoffs_fill_as_many_placeholders_as_the_codec_makes_frames():
    forward = _run("csm", "CsmForConditionalGeneration", "text-to-waveform", "text-to-audio")
    assert forward.status == Status.PASSED, forward.message
    shapes = forward.detail["inputs"]
    assert shapes["input_values_cutoffs"] == [2, 1] and shapes["input_ids"][1] > 8  # placeholders in front


def test_ids_of_parallel_streams_get_their_stream_axis():
    from transformers import KyutaiSpeechToTextConfig

    forward = _run("kyutai_speech_to_text", "KyutaiSpeechToTextForConditionalGeneration", "speech-seq2seq",
                   "speech-seq2seq")
    assert forward.status == Status.PASSED, forward.message
    shapes = forward.detail["inputs"]
    assert shapes["input_ids"][-1] == KyutaiSpeechToTextConfig().num_codebooks + 1  # a text stream + codebooks


def test_ids_documented_as_a_row_per_codebook_get_them_and_labels_their_documented_layout():
    """MusicgenForCausalLM documents input_ids as (batch_size * num_codebooks, length) and labels as
    (batch_size, length, num_codebooks); a row per sample fails its reshape."""
    import torch

    cfg, inputs, _, out = _inputs("musicgen_decoder", "MusicgenForCausalLM", "causal-lm")
    assert tuple(inputs["input_ids"].shape) == (2 * cfg.num_codebooks, 8)
    assert tuple(inputs["labels"].shape) == (2, 8, cfg.num_codebooks)
    assert out.logits.shape[0] == 2 * cfg.num_codebooks and torch.isfinite(out.loss)
