"""Gaps from classifications: grouped by missing rule, counted over top-level types unless asked."""

from hfscan.classifiers.records import Classification, Trait
from hfscan.reports.gaps import GapGroup, build_gaps, classification_gaps
from hfscan.scanner.records import Inventory


def _unclassified(mt, *traits, outcome="unclassified", reason="no top-level category holds", candidates=()):
    return Classification(
        model_type=mt, outcome=outcome, family=None, category=None, template=None, path=(),
        traits=tuple(Trait(t, True, "test") for t in traits), reason=reason, candidates=candidates,
    )


def test_one_missing_rule_is_one_group():
    groups = classification_gaps([
        _unclassified("a", "text-input", "rope"),
        _unclassified("b", "text-input"),  # rope only informs: same group as a
        _unclassified("c"),
        _unclassified("d", "text-input", outcome="ambiguous", reason="several", candidates=("x", "y")),
    ])
    assert [(g.kind, g.traits, g.model_types) for g in groups] == [
        ("unclassified", ("text-input",), ("a", "b")),
        ("ambiguous", ("text-input",), ("d",)),
        ("unclassified", (), ("c",)),
    ]
    assert groups[1].reason == "tie between x, y"


def test_real_gaps_count_top_level_types(inventory, classifications):
    gaps = build_gaps(inventory, classifications)
    top = [r for r in inventory if not r.is_subconfig]
    assert gaps.considered == len(top)
    expected = {r.model_type for r in top if classifications[r.model_type].outcome != "classified"}
    assert set(gaps.model_types) == expected
    everything = build_gaps(inventory, classifications, include_subconfigs=True)
    assert everything.considered == len(inventory)
    assert set(gaps.model_types) <= set(everything.model_types)
    data = gaps.to_json()
    assert data["schema"] == "hfscan.gaps/1" and data["gaps"] == len(expected)
    assert sum(len(g["model_types"]) for g in data["groups"]) == len(expected)


def test_no_gaps_and_extra_groups(inventory, classifications):
    chosen = Inventory(inventory.transformers_version, inventory.torch_version, tuple(inventory.get(mt) for mt in ("bert", "gpt2", "vit")))
    clean = build_gaps(chosen, classifications)
    assert clean.model_types == () and clean.fraction == 0.0
    failure = GapGroup("failure", "forward: shape mismatch", (), ("gpt2",))
    assert build_gaps(chosen, classifications, extra=[failure]).groups == (failure,)
