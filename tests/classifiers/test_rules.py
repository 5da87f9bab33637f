"""The trait rules and the family graph as data: conditions, and load-time validation."""

import pytest

from hfscan.classifiers.facts import Facts
from hfscan.classifiers.graph import default_graph, load_graph
from hfscan.classifiers.records import CATEGORIES
from hfscan.classifiers.traits import default_rules, load_rules
from hfscan.errors import DataFileError
from hfscan.harness.records import TEMPLATES
from hfscan.scanner.records import ModelTypeRecord

RECORD = ModelTypeRecord(model_type="x", config_class="XConfig", config_module="", module="")


def _traits(rules_text, tmp_path, config=None, **record):
    path = tmp_path / "traits.toml"
    path.write_text(rules_text)
    rules = load_rules(path)
    facts = Facts(config=config or {})
    rec = ModelTypeRecord(model_type="x", config_class="XConfig", config_module="", module="", **record)
    return [(t.name, t.value, t.source) for rule in rules.values() for t in rule.evaluate(rec, facts)]


def test_config_conditions(tmp_path):
    rules = """
[trait.t-equals]
any = [{ config = "flag", equals = true }]
[trait.t-contains]
any = [{ config = "layer_types", contains = "mamba" }]
[trait.t-min]
any = [{ config = "num_experts", min = 1 }]
[trait.t-truthy]
any = [{ config = "sliding_window" }]
"""
    found = _traits(rules, tmp_path, {"flag": True, "layer_types": ["attention", "mamba"], "num_experts": 0, "ffn.sliding_window": 8})
    assert found == [
        ("t-equals", True, "config.flag"),
        ("t-contains", "attention,mamba", "config.layer_types"),
        ("t-truthy", 8, "config.ffn.sliding_window"),
    ]


def test_none_conditions_veto_a_trait(tmp_path):
    rules = '[trait.dec]\nany = [{ task = "causal-lm" }]\nnone = [{ task = "masked-lm" }]\n'
    assert _traits(rules, tmp_path, tasks=(("causal-lm", "XForCausalLM"),)) == [("dec", "XForCausalLM", "task:causal-lm")]
    assert _traits(rules, tmp_path, tasks=(("causal-lm", "A"), ("masked-lm", "B"))) == []


def test_shipped_graph_is_valid_and_complete():
    graph = default_graph()
    assert set(graph.roots) == set(CATEGORIES)
    assert graph.leaves and all(graph.families[leaf].template in TEMPLATES for leaf in graph.leaves)
    edges = {d["rel"] for _, _, d in graph.graph.edges(data=True)}
    assert edges == {"requires", "any", "excludes", "specialises"}
    assert all(name in default_rules() for name in (n for kind, n in graph.graph.nodes if kind == "trait"))


CATS = "\n".join(f'[family.{c}]\nrequires = ["text-input"]\ntemplate = "generic"\n' for c in CATEGORIES if c != "vision")


@pytest.mark.parametrize(
    "extra, message",
    [
        ('[family.vision]\nrequires = ["no-such-trait"]\n', "unknown trait 'no-such-trait'"),
        ('[family.vision]\nrequires = ["text-input"]\n[family.a]\nparent = "b"\n[family.b]\nparent = "a"\n', "families form a cycle"),
        ('[family.vision]\nparent = "nowhere"\n', "unknown parent 'nowhere'"),
        ('[family.vision]\nexcludes = ["text-input"]\n', "no trait path reaches it"),
        ('[family.vision]\nrequires = ["text-input"]\n[family.leaf]\nparent = "vision"\nexcludes = ["text-input"]\ntemplate = "generic"\n', "can never hold"),
        ('[family.vision]\nrequires = ["text-input"]\n[family.leaf]\nparent = "vision"\nrequires = ["moe"]\n', "names no template"),
        ('[family.vision]\nany = ["moe", "rope"]\n[family.leaf]\nparent = "vision"\nexcludes = ["moe", "rope"]\ntemplate = "generic"\n', "every trait 'vision' needs one of is excluded"),
        ('[family.vision]\nrequires = ["text-input"]\nbogus = 1\n', "unknown key(s) bogus"),
        ('', "top-level families must be exactly"),
        ('[family.vision\n', "invalid TOML"),
    ],
)
def test_graph_defects_are_load_errors(tmp_path, extra, message):
    path = tmp_path / "families.toml"
    path.write_text(CATS + "\n" + extra)
    with pytest.raises(DataFileError) as err:
        load_graph(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))


def test_errors_name_the_line(tmp_path):
    path = tmp_path / "families.toml"
    path.write_text(CATS + '\n[family.vision]\nrequires = ["nope"]\n')
    with pytest.raises(DataFileError) as err:
        load_graph(path)
    assert err.value.line == CATS.count("\n") + 2


@pytest.mark.parametrize(
    "text, message",
    [
        ("[trait.a]\ndoc = 'x'\n", "needs an 'any' list"),
        ("[trait.a]\nany = [{ task = 'x', input = 'y' }]\n", "exactly one of"),
        ("[trait.a]\nany = [{ task = 'x', min = 1 }]\n", "config conditions only"),
        ("[trait.a]\nany = [{ colour = 'x' }]\n", "exactly one of"),
    ],
)
def test_trait_rule_defects_are_load_errors(tmp_path, text, message):
    path = tmp_path / "traits.toml"
    path.write_text(text)
    with pytest.raises(DataFileError, match=message):
        load_rules(path)


def test_a_toml_syntax_errors_line_and_description_are_read_from_tomllib():
    import tomllib

    from hfscan.classifiers.datafile import toml_error

    for text, line in (("a = 1\nb = \n", 2), ("a = [1,\n", None)):
        with pytest.raises(tomllib.TOMLDecodeError) as info:
            tomllib.loads(text)
        found, what = toml_error(info.value)
        assert found == line and what and "(at line" not in what
