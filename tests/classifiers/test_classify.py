"""Classification of the real transformers inventory, checked against a public coverage roadmap."""

import dataclasses

import pytest

from hfscan.classifiers import CATEGORIES, classify
from hfscan.classifiers.classify import decide
from hfscan.classifiers.graph import default_graph, load_graph
from hfscan.classifiers.records import Trait

# Categories a public coverage roadmap puts these model types in.
ROADMAP = {
    "encoder-only": ["bert", "roberta", "albert", "distilbert", "deberta", "xlm-roberta", "electra", "ernie", "rembert"],
    "decoder-only": ["gpt2", "llama", "mistral", "phi", "falcon", "mpt", "gpt_neo", "gptj", "opt", "gemma"],
    "encoder-decoder": ["t5", "bart", "mbart", "pegasus", "prophetnet", "led"],
    "vision": ["vit", "swin", "deit", "resnet", "convnext", "beit", "segformer", "detr", "mask2former", "yolos", "sam", "dinov2"],
    "vision-text|multimodal": ["clip", "blip", "llava", "flava", "git", "idefics", "paligemma"],
    "speech-audio": ["whisper", "wav2vec2", "hubert", "sew", "unispeech", "clap", "musicgen", "encodec"],
}


@pytest.mark.parametrize(
    "category, model_type", [(cat, mt) for cat, types in ROADMAP.items() for mt in types]
)
def test_roadmap_models_land_in_their_category(classifications, category, model_type):
    c = classifications[model_type]
    assert c.outcome == "classified", (model_type, c.reason)
    assert c.category in category.split("|"), (model_type, c.path)


def test_at_most_two_percent_of_top_level_types_are_gaps(inventory, classifications):
    top = [r.model_type for r in inventory if not r.is_subconfig]
    gaps = [mt for mt in top if classifications[mt].outcome != "classified"]
    assert len(gaps) / len(top) <= 0.02, gaps


def test_every_type_gets_an_explicit_outcome(inventory, classifications):
    graph = default_graph()
    assert list(classifications) == list(inventory.model_types)
    for c in classifications.values():
        if c.outcome == "classified":
            assert graph.is_leaf(c.family) and c.path == graph.path(c.family)
            assert c.category == c.path[0] in CATEGORIES
            assert c.template == graph.families[c.family].template
        else:
            assert c.family is None and c.template is None and c.reason
            assert (c.outcome == "ambiguous") == bool(c.candidates)


@pytest.mark.parametrize(
    "model_type, family",
    [
        ("mixtral", "moe-decoder"),
        ("mamba", "state-space-decoder"),
        ("jamba", "hybrid-decoder"),
        ("detr", "object-detector"),
        ("mask2former", "image-segmenter"),
        ("clip", "contrastive-dual-encoder"),
        ("llava", "image-text-to-text"),
        ("whisper", "speech-seq2seq"),
        ("musicgen", "text-to-audio"),
        ("encodec", "audio-codec"),
        ("videomae", "video-encoder"),
        ("patchtst", "time-series-encoder"),
        ("informer", "time-series-seq2seq"),
    ],
)
def test_specific_families_below_the_categories(classifications, model_type, family):
    assert classifications[model_type].family == family


def test_sub_config_types_get_their_own_family_and_keep_their_parent(classifications):
    vision = classifications["clip_vision_model"]
    text = classifications["clip_text_model"]
    assert vision.parents == ("clip",) and vision.category == "vision"
    assert text.parents == ("clip",) and text.category == "encoder-only"


def test_traits_name_their_source(classifications):
    bert = classifications["bert"]
    sources = {t.name: t.source for t in bert.traits}
    assert sources["masked-lm"] == "task:masked-lm"
    assert sources["text-input"] == "forward(BertModel)"
    mixtral = {t.name: (t.value, t.source) for t in classifications["mixtral"].traits}
    assert mixtral["moe"][1].startswith("config.") and mixtral["moe"][0] >= 1


def test_rivals_say_why_they_lost(classifications):
    rivals = {r.family: r.reason for r in classifications["llama"].rivals}
    assert set(CATEGORIES) - {"decoder-only"} <= set(rivals)
    assert rivals["moe-decoder"] == "requires moe: not found"
    assert "vision-input" in rivals["vision"]


def test_one_type_alone_matches_the_sweep(inventory, classifications):
    for mt in ("bert", "clip_vision_model", "whisper"):
        assert classify(inventory.get(mt), inventory) == classifications[mt]


def test_ties_are_ambiguous_and_nothing_is_unclassified_not_defaulted(tmp_path):
    path = tmp_path / "families.toml"
    body = "\n".join(
        f'[family.{c}]\nrequires = ["text-input"]\n' + ("" if c == "encoder-only" else 'template = "generic"\n') for c in CATEGORIES
    )
    path.write_text(body + '[family.a]\nparent = "encoder-only"\ntemplate = "generic"\n[family.b]\nparent = "encoder-only"\ntemplate = "generic"\n')
    graph = load_graph(path)
    tie = decide("x", (Trait("text-input", "input_ids", "forward(X)"),), graph)
    assert tie.outcome == "ambiguous" and tie.family is None
    assert set(tie.candidates) >= {"a", "b", "decoder-only"}
    assert tie.category is None and tie.path == ()
    none = decide("y", (), graph)
    assert none.outcome == "unclassified" and none.reason == "no top-level category holds"
    assert {r.family for r in none.rivals} == set(CATEGORIES)


def test_an_inner_family_with_no_holding_leaf_is_unclassified():
    graph = default_graph()
    # decoder-only holds (a cached decoder), but every leaf below it excludes trajectory input and the
    # trajectory leaf excludes a causal-LM head: found together, no leaf holds.
    traits = tuple(Trait(n, True, "test") for n in ("causal-decoder", "trajectory-input"))
    c = decide("z", traits, graph)
    assert c.outcome == "unclassified" and c.path == ("decoder-only",)
    assert c.reason.startswith("reached decoder-only")


def test_a_renamed_model_type_gets_the_same_family(inventory, classifications):
    """The family comes from facts, never from the name: a config registered under another name lands the same."""
    from transformers import AutoConfig

    for original in ("bert", "llama", "clip", "whisper", "mixtral"):
        record = inventory.get(original)
        base = type(AutoConfig.for_model(original))
        renamed = f"zz_renamed_{original.replace('-', '_')}"
        cls = type(f"Renamed{base.__name__}", (base,), {"model_type": renamed})
        AutoConfig.register(renamed, cls, exist_ok=True)
        c = classify(dataclasses.replace(record, model_type=renamed), inventory)
        assert c.model_type == renamed
        assert (c.outcome, c.family, c.path) == (classifications[original].outcome, classifications[original].family, classifications[original].path)
        assert {(t.name, t.source) for t in c.traits} == {(t.name, t.source) for t in classifications[original].traits}
