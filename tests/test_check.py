"""`hfscan check` on the config.json of popular checkpoints: variant traits survive the shrink and the model runs."""

import json
from pathlib import Path

import pytest

from hfscan.check import check, variant_traits
from hfscan.errors import UnknownModelTypeError, UsageError
from hfscan.harness.records import Status

CONFIGS = Path(__file__).parent / "data" / "configs"

# What each checkpoint's variant is, read off its config.json by hand: the check must find
# these and keep them through the shrink.
EXPECTED = {
    "meta-llama--Llama-3.1-8B": {"gqa_ratio": 4.0, "rope_type": ("llama3",), "tied_embeddings": False, "activation": "silu"},
    "mistralai--Mistral-7B-v0.1": {"gqa_ratio": 4.0, "sliding_window": True, "activation": "silu"},
    "mistralai--Mixtral-8x7B-v0.1": {"sparse_moe": True, "gqa_ratio": 4.0, "sliding_window": False},
    "Qwen--Qwen2-7B": {"gqa_ratio": 7.0, "sliding_window": False},
    "Qwen--Qwen1.5-MoE-A2.7B": {"sparse_moe": True, "gqa_ratio": 1.0},
    "google--gemma-2-9b": {"gqa_ratio": 2.0, "sliding_window": True, "activation": "gelu_pytorch_tanh",
                           "layer_kinds": ("full_attention", "sliding_attention"), "tied_embeddings": True},
    "google--gemma-3-1b-it": {"gqa_ratio": 4.0, "sliding_window": True, "layer_kinds": ("full_attention", "sliding_attention")},
    "microsoft--Phi-3-mini-4k-instruct": {"gqa_ratio": 1.0, "sliding_window": True},
    "bert-base-uncased": {"activation": "gelu", "tied_embeddings": True},
    "roberta-base": {"activation": "gelu"},
    "t5-small": {"activation": "relu", "encoder_decoder": True},
    "facebook--bart-base": {"activation": "gelu", "encoder_decoder": True},
    "openai--whisper-small": {"activation": "gelu", "encoder_decoder": True},
    "google--vit-base-patch16-224": {"activation": "gelu"},
    "openai--clip-vit-base-patch32": {"text_config.activation": "quick_gelu", "vision_config.activation": "quick_gelu"},
    "facebook--wav2vec2-base-960h": {"activation": "gelu"},
}

def test_every_shipped_config_has_expectations():
    assert sorted(p.stem for p in CONFIGS.glob("*.json")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 12


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_check_keeps_variant_and_runs(name):
    report = check(str(CONFIGS / f"{name}.json"), checks=("build", "forward"))
    traits = {t: (before, after) for t, before, after in report.traits}
    for trait, value in EXPECTED[name].items():
        assert traits[trait][0] == value, f"{trait} read from the checkpoint"
    for trait, (before, after) in traits.items():
        assert before == after, f"{trait} changed by the shrink: {before!r} -> {after!r}"
    statuses = {r.check: r.status for r in report.results}
    assert statuses["build"] == Status.PASSED and statuses["forward"] in (Status.PASSED, Status.PARTIAL)
    assert statuses["variant"] == Status.PASSED
    assert report.shrunk, "a full-size config must be shrunk"
    forward = next(r for r in report.results if r.check == "forward")
    assert forward.param_count < 5_000_000  # the random-weight model is tiny


def test_variant_change_is_a_failure(tmp_path):
    """The variant check is a real assertion: a config whose trait the shrink cannot keep fails it."""
    data = json.loads((CONFIGS / "Qwen--Qwen2-7B.json").read_text())
    data.update(hidden_size=3072, num_attention_heads=12, num_key_value_heads=8)  # ratio 1.5: no integer groups
    report = check(str(_write(tmp_path, data)), checks=("build",))
    variant = next(r for r in report.results if r.check == "variant")
    assert variant.status == Status.FAILED and "gqa_ratio" in variant.message
    assert not report.ok


def test_traits_come_from_declared_fields_only():
    from transformers import BertConfig

    config = BertConfig(position_embedding_type="relative_key")  # a key transformers 5 no longer reads
    assert "position_embedding" not in variant_traits(config)


def _write(tmp_path, data) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_bad_configs_are_usage_errors(tmp_path):
    with pytest.raises(UnknownModelTypeError, match="llama"):
        check(str(_write(tmp_path, {"model_type": "llamma"})))
    with pytest.raises(UsageError, match="transformers rejects"):
        check(str(_write(tmp_path, {"model_type": "llama", "num_attention_heads": "many"})))
    with pytest.raises(UsageError, match="custom code.*--trust-remote-code"):
        check(str(_write(tmp_path, {"model_type": "fancy_remote", "auto_map": {"AutoModel": "m.M"}})))
    with pytest.raises(UsageError, match="no model_type"):
        check(str(_write(tmp_path, {"hidden_size": 8})))
    with pytest.raises(UsageError, match="not in the Hugging Face cache"):
        check("nobody/no-such-repo")
    with pytest.raises(UsageError, match="no config.json"):
        check(str(tmp_path / "empty") if (tmp_path / "empty").mkdir() is None else "")
