"""`hfscan check` on the config.json of popular checkpoints: variant traits survive the shrink and the model runs."""

import json
from pathlib import Path

import pytest

from hfscan.check import check, read_config, variant_traits
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
    "openai--whisper-base": {"activation": "gelu", "encoder_decoder": True},
    "HuggingFaceM4--tiny-random-idefics": {"activation": "silu", "tied_embeddings": False},
    "zai-org--GLM-4.5-Air": {"gqa_ratio": 12.0, "sparse_moe": True, "tied_embeddings": False},
    "google--gemma-3-4b-it": {"text_config.gqa_ratio": 2.0, "text_config.sliding_window": True,
                              "text_config.rope_type": ("default", "linear"),
                              "text_config.layer_kinds": ("full_attention", "sliding_attention")},
    "deepseek-ai--DeepSeek-V2-Lite-Chat": {"sparse_moe": True, "gqa_ratio": 1.0, "rope_type": ("yarn",)},
}

#: What the built models hold (read from their modules, not from the config): MoE layers beside dense ones,
#: queries per key/value head (the full model's; multi-query Falcon shares one among 71), layer kinds per stack.
BUILT = {
    "deepseek-ai--DeepSeek-V3": {"built.mlp_layers": ("dense", "moe")},
    "deepseek-ai--DeepSeek-V2-Lite-Chat": {"built.mlp_layers": ("dense", "moe")},
    "zai-org--GLM-4.5-Air": {"built.mlp_layers": ("dense", "moe"), "built.kv_heads": (12,)},
    "mistralai--Mixtral-8x7B-v0.1": {"built.mlp_layers": ("moe",), "built.experts_per_moe_layer": (8,)},
    "Qwen--Qwen3-30B-A3B": {"built.mlp_layers": ("moe",), "built.experts_per_moe_layer": (128,)},
    "ai21labs--Jamba-v0.1": {"built.mlp_layers": ("dense", "moe"), "built.experts_per_moe_layer": (16,)},
    "tiiuae--falcon-7b": {"built.kv_heads": (71,), "built.mlp_layers": ()},
    "google--gemma-2-9b": {"built.layer_kinds": (("model.layers", 2),)},
}

#: Configs whose tiny model does not run yet, with the cause (their structure is still checked).
KNOWN_FAILURES = {
    "Qwen--Qwen2-VL-2B-Instruct": "forward: 'Image features and image tokens do not match' (the vision tower's "
                                  "hidden_size 1536 differs from embed_dim 1280; also on main before fidelity)",
}

def test_every_shipped_config_has_expectations():
    assert sorted(p.stem for p in CONFIGS.glob("*.json")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 30


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[n], strict=True))
                                  if n in KNOWN_FAILURES else n for n in sorted(EXPECTED)])
def test_check_keeps_variant_and_runs(name):
    report = check(str(CONFIGS / f"{name}.json"), checks=("build", "forward", "fidelity"))
    traits = {t: (before, after) for t, before, after in report.traits}
    for trait, value in EXPECTED[name].items():
        assert traits[trait][0] == value, f"{trait} read from the checkpoint"
    for trait, value in BUILT.get(name, {}).items():
        assert traits[trait][0] == value, f"{trait} read from the full-size model built on meta"
    for trait, (before, after) in traits.items():
        if trait.startswith("built."):  # read from the built models: sizes shrink, kinds stay
            assert bool(before) == bool(after) and (trait == "built.experts_per_moe_layer" or before == after
                                                    or trait == "built.kv_heads"), (trait, before, after)
            continue
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


def _dropping(monkeypatch, change):
    """``hfscan check`` with its shrinker's tiny config changed by ``change`` (a structure removed from it)."""
    from hfscan.harness import shrink

    real = shrink.tiny_config

    def tiny_config(*args, **kw):
        tiny, report = real(*args, **kw)
        change(tiny)
        return tiny, report

    monkeypatch.setattr(shrink, "tiny_config", tiny_config)


def test_a_layer_kind_removed_from_the_tiny_model_fails_fidelity_and_variant(monkeypatch):
    """DeepSeek-V3's dense-then-MoE stack with its MoE layers cut away (first_k_dense_replace at the depth, the
    way a shrink that ignores it would leave it): the tiny model runs, but fidelity names the missing MoE module
    classes and layer kind, and variant the MoE layer the built tiny model lacks."""
    _dropping(monkeypatch, lambda tiny: setattr(tiny, "first_k_dense_replace", tiny.num_hidden_layers))
    report = check(str(CONFIGS / "deepseek-ai--DeepSeek-V3.json"), checks=("build", "forward", "fidelity"))
    results = {r.check: r for r in report.results}
    assert results["forward"].status == Status.PASSED  # it still runs: only fidelity and variant see the loss
    assert results["fidelity"].status == Status.FAILED and "DeepseekV3MoE" in results["fidelity"].message
    assert results["variant"].status == Status.FAILED
    assert "built.experts_per_moe_layer: no MoE layer in the tiny model" in results["variant"].message
    assert "sparse_moe = True, but the built model has no MoE layer" in results["variant"].message
    assert not report.ok


def test_sliding_layers_removed_fail_fidelity(monkeypatch):
    """Gemma-2 with every layer made global: the sliding layer kind is missing."""
    _dropping(monkeypatch, lambda tiny: setattr(tiny, "layer_types", ["full_attention"] * tiny.num_hidden_layers))
    report = check(str(CONFIGS / "google--gemma-2-9b.json"), checks=("build", "fidelity"))
    results = {r.check: r for r in report.results}
    assert results["fidelity"].status == Status.FAILED and "sliding_attention" in results["fidelity"].message
    assert results["variant"].status == Status.FAILED and "layer_kinds" in results["variant"].message


def test_multi_query_attention_made_per_head_fails_variant(monkeypatch):
    """Falcon-7B's config reads as one key/value head per query (multi_query is applied by the model): the trait is
    read from the built models instead (71 queries share one key/value head), and a tiny model built with a
    key/value head per query fails it."""
    report = check(str(CONFIGS / "tiiuae--falcon-7b.json"), checks=("build",))
    traits = {t: (a, b) for t, a, b in report.traits}
    assert traits["built.kv_heads"][0] == (71,) and traits["built.kv_heads"][1] != (1,)
    assert "gqa_ratio" not in traits  # the config's reading (1.0) is not printed: the built model says otherwise
    _dropping(monkeypatch, lambda tiny: setattr(tiny, "multi_query", False))
    report = check(str(CONFIGS / "tiiuae--falcon-7b.json"), checks=("build",))
    variant = next(r for r in report.results if r.check == "variant")
    assert variant.status == Status.FAILED and "built.kv_heads: attention key/value sharing" in variant.message


def test_token_id_lists_of_a_real_config_stay_inside_the_tiny_vocabulary():
    """Whisper's published config forces language/task ids and suppresses ids past the cut vocabulary: forced ids
    move to free ids, suppressed ids follow the special-token remap or are dropped, and generate runs."""
    from hfscan.harness.shrink import tiny_config

    config = read_config(CONFIGS / "openai--whisper-base.json")
    tiny, _ = tiny_config(config)
    vocab = tiny.vocab_size
    forced = [token for _, token in tiny.forced_decoder_ids]
    assert [pos for pos, _ in tiny.forced_decoder_ids] == [1, 2, 3] and all(t < vocab for t in forced)
    assert len(set(forced) | {tiny.eos_token_id, tiny.decoder_start_token_id}) == 5  # distinct ids stay distinct
    assert all(t < vocab for t in (*tiny.suppress_tokens, *tiny.begin_suppress_tokens))
    assert tiny.begin_suppress_tokens[-1] == tiny.eos_token_id  # it was the end-of-text id, and follows it
    assert tiny.decoder_start_token_id in tiny.suppress_tokens  # so was 50258 (start of transcript)
    low = [i for i in config.suppress_tokens if i < vocab]
    assert list(tiny.suppress_tokens[:len(low)]) == low  # ids the cut vocabulary holds are kept, in order
    assert forced[1] in tiny.suppress_tokens and forced[2] not in tiny.suppress_tokens  # as 50359 and 50363 were
    report = check(str(CONFIGS / "openai--whisper-base.json"), checks=("build", "forward", "generate"))
    statuses = {r.check: r.status for r in report.results}
    assert statuses["generate"] == Status.PASSED, report.results


def test_an_output_head_with_extra_logits_sets_the_expected_width():
    """IDEFICS' head emits the vocabulary plus its additional_vocab_size (2) learned rows: forward expects the
    head's own width, not vocab_size."""
    report = check(str(CONFIGS / "HuggingFaceM4--tiny-random-idefics.json"), checks=("build", "forward"))
    forward = next(r for r in report.results if r.check == "forward")
    assert forward.status == Status.PASSED, forward.message


def test_weights_newly_initialised_for_the_checkpoints_class_fail(tmp_path):
    """`check --weights` on a checkpoint saved from a model without a head whose config names a class with one:
    the head's weights are not in the checkpoint, so the real-weight build fails naming them."""
    from transformers import BertConfig

    from tests.scanner.hub_server import save_tiny

    folder = save_tiny(tmp_path / "bert", BertConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                                     num_attention_heads=2))
    loaded = {r.check: r for r in check(str(folder), weights=True, checks=("build",)).results
              if r.source == "checkpoint"}
    assert loaded["build"].status == Status.PASSED  # every weight of BertModel came from the checkpoint
    data = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**data, "architectures": ["BertForSequenceClassification"]}))
    report = check(str(folder), weights=True, checks=("build",))
    assert report.model_class == "BertForSequenceClassification"
    build = next(r for r in report.results if r.check == "build" and r.source == "checkpoint")
    assert build.status == Status.FAILED and "newly initialised" in build.message and "classifier" in build.message
