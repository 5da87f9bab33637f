"""harness.checkpoint on saved checkpoints: image and audio inputs come from their own processors."""

import pytest

from hfscan.harness.checkpoint import run_checkpoint
from hfscan.harness.records import Job, Status
from tests.scanner.hub_server import save_tiny


def _job(model_type, model_class):
    return Job(model_type=model_type, model_class=model_class, task="base", source="checkpoint")


def _run(job, folder):
    return {r.check: r for r in run_checkpoint(job, folder)}


def test_image_checkpoint_with_its_image_processor(tmp_path):
    from transformers import ViTConfig, ViTImageProcessor

    folder = save_tiny(tmp_path / "vit", ViTConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                   num_attention_heads=2, image_size=32, patch_size=8))
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    results = _run(_job("vit", "ViTModel"), folder)
    assert results["build"].status == Status.PASSED
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert '"pixel_values": [2, 3, 32, 32]' in results["forward"].details


def test_audio_checkpoint_with_its_feature_extractor(tmp_path):
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor

    config = Wav2Vec2Config(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                            conv_dim=(8, 8), conv_kernel=(10, 3), conv_stride=(5, 2), num_feat_extract_layers=2,
                            num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    folder = save_tiny(tmp_path / "w2v", config)
    Wav2Vec2FeatureExtractor(sampling_rate=16_000).save_pretrained(folder)
    results = _run(_job("wav2vec2", "Wav2Vec2Model"), folder)
    assert results["forward"].status == Status.PASSED, results["forward"].message
    assert '"input_values": [2, 16000]' in results["forward"].details


def test_missing_processor_and_pickle_are_failures_with_the_stage(tmp_path):
    import torch
    from transformers import BertConfig, BertModel

    folder = save_tiny(tmp_path / "bert", BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2))
    results = _run(_job("bert", "BertModel"), folder)  # weights but no tokenizer
    assert results["build"].status == Status.PASSED
    assert results["forward"].status == Status.FAILED and results["forward"].stage == "inputs"
    state = BertModel.from_pretrained(folder).state_dict()
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    refused = _run(_job("bert", "BertModel"), folder)
    assert refused["build"].status == Status.FAILED and "--allow-pickle" in refused["build"].message
    assert "forward" not in refused


def test_weights_a_class_initialises_anew_fail_build(tmp_path):
    from transformers import BertConfig

    folder = save_tiny(tmp_path / "bert", BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2))
    strict = lambda cls: {r.check: r for r in run_checkpoint(_job("bert", cls), folder, all_weights=True)}  # noqa: E731
    assert strict("BertModel")["build"].status == Status.PASSED
    results = strict("BertForSequenceClassification")  # its head is not in the checkpoint
    assert results["build"].status == Status.FAILED and results["build"].stage == "load"
    assert "newly initialised" in results["build"].message and "classifier" in results["build"].message


@pytest.mark.parametrize("seconds", [1.0, 0.5])
def test_samples_are_generated(seconds):
    from hfscan.harness.checkpoint import SAMPLE_RATE, sample_audio, sample_image

    assert sample_audio(seconds).shape == (int(SAMPLE_RATE * seconds),)
    assert sample_image().size == (64, 64)
    assert sample_image().tobytes() != sample_image(inverted=True).tobytes()
