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
    "deepseek-ai--DeepSeek-V3": {"sparse_moe": True, "rope_type": ("yarn",), "tied_embeddings": False},
    "Qwen--Qwen3-30B-A3B": {"gqa_ratio": 8.0, "tied_embeddings": False},
    "microsoft--Phi-3.5-mini-instruct": {"rope_type": ("longrope",), "sliding_window": True},
    "Qwen--Qwen2-VL-2B-Instruct": {"text_config.gqa_ratio": 6.0, "text_config.rope_type": ("default", "mrope")},
    "Qwen--Qwen2.5-VL-3B-Instruct": {"text_config.gqa_ratio": 8.0, "text_config.rope_type": ("default", "mrope")},
    "facebook--sam-vit-base": {"vision_config.activation": "gelu", "mask_decoder_config.activation": "relu"},
    "meta-llama--Llama-3.2-11B-Vision": {"text_config.gqa_ratio": 4.0, "text_config.rope_type": ("llama3",)},
    "tiiuae--falcon-7b": {"tied_embeddings": True},
    "ai21labs--Jamba-v0.1": {"gqa_ratio": 4.0, "sparse_moe": True},
}

#: Configs whose tiny model does not run yet, with the cause (their structure is still checked).
KNOWN_FAILURES = {
    "Qwen--Qwen2-VL-2B-Instruct": "forward: 'Image features and image tokens do not match' (the vision tower's "
                                  "hidden_size 1536 differs from embed_dim 1280; also on main before fidelity)",
}

def test_every_shipped_config_has_expectations():
    assert sorted(p.stem for p in CONFIGS.glob("*.json")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 12


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[n], strict=True))
                                  if n in KNOWN_FAILURES else n for n in sorted(EXPECTED)])
def test_check_keeps_variant_and_runs(name):
    report = check(str(CONFIGS / f"{name}.json"), checks=("build", "forward", "fidelity"))
    traits = {t: (before, after) for t, before, after in report.traits}
    for trait, value in EXPECTED[name].items():
        assert traits[trait][0] == value, f"{trait} read from the checkpoint"
    for trait, (before, after) in traits.items():
        assert before == after, f"{trait} changed by the shrink: {before!r} -> {after!r}"
    statuses = {r.check: r.status for r in report.results}
    assert statuses["build"] == Status.PASSED and statuses["forward"] in (Status.PASSED, Status.PARTIAL)
    assert statuses["variant"] == Status.PASSED
    fidelity = next(r for r in report.results if r.check == "fidelity")  # every layer kind of the checkpoint kept
    assert fidelity.status == Status.PASSED, fidelity.message
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


@pytest.mark.slow
def test_check_hands_the_compile_backend_and_export_mode_to_its_checks():
    from hfscan.check import check_isolated

    report = check_isolated(str(CONFIGS / "bert-base-uncased.json"), checks=("build", "forward", "compile", "export"),
                            compile_backend="eager", export_strict=True)
    by = {r.check: r for r in report.results}
    assert by["compile"].detail["compile"]["backend"] == "eager"
    assert by["export"].detail["export"]["strict"] is True
