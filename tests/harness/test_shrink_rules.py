"""The shrink rules file is validated at load (file:line errors), and the setter every pass writes through
enforces [keep]."""

from __future__ import annotations

import pytest
from transformers import BertConfig, MistralConfig, OlmoeConfig

from hfscan.errors import DataFileError
from hfscan.harness.shrink import State, levels, load_rules, tiny_config
from hfscan.harness.shrink.passes import CONFIG_PASSES, PASSES
from hfscan.harness.shrink.ruleset import KINDS, RULES_FILE


def _copy_with(tmp_path, old: str, new: str):
    text = RULES_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "shrink_rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path, text.replace(old, new, 1)


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_the_shipped_rules_validate_and_every_kind_is_used_and_documented():
    data = load_rules()
    used = {r["kind"] for r in data["rule"]}
    assert used <= set(KINDS)
    from hfscan.harness.shrink import ruleset

    for kind in KINDS:  # one table documents every kind
        assert f"\n{kind} " in ruleset.__doc__


def test_a_mistyped_rule_kind_names_file_and_line(tmp_path):
    path, text = _copy_with(tmp_path, 'kind = "heads"', 'kind = "haeds"')
    with pytest.raises(DataFileError) as err:
        load_rules(path)
    assert err.value.line == _line_of(text, 'kind = "haeds"')
    assert str(err.value).startswith(f"{path}:{err.value.line}: ") and "'haeds'" in str(err.value)
    assert err.value.exit_code == 2


def test_a_mistyped_rule_key_names_file_and_line(tmp_path):
    path, text = _copy_with(tmp_path, 'kind = "kv_heads"\n', 'kind = "kv_heads"\nmax_raito = 8\n')
    with pytest.raises(DataFileError) as err:
        load_rules(path)
    assert err.value.line == _line_of(text, "max_raito")
    assert "unknown key 'max_raito'" in str(err.value)


def test_a_value_of_the_wrong_type_names_file_and_line(tmp_path):
    path, text = _copy_with(tmp_path, "kind = \"layers\"\nmax = 2", "kind = \"layers\"\nmax = \"2\"")
    with pytest.raises(DataFileError) as err:
        load_rules(path)
    assert err.value.line == _line_of(text, 'max = "2"') and "'max' must be an integer" in str(err.value)


def test_a_missing_key_and_an_unknown_table_are_errors(tmp_path):
    path, text = _copy_with(tmp_path, "kind = \"layers\"\nmax = 2\n", "kind = \"layers\"\n")
    with pytest.raises(DataFileError, match="layers rule: missing max"):
        load_rules(path)
    path, text = _copy_with(tmp_path, "[keep]", "[kept]")
    with pytest.raises(DataFileError) as err:
        load_rules(path)
    assert err.value.line == _line_of(text, "[kept]") and "unknown table [kept]" in str(err.value)
    path, text = _copy_with(tmp_path, "capped = [", "caped = [")
    with pytest.raises(DataFileError, match=r"\[keep\]: unknown key 'caped'"):
        load_rules(path)


def test_the_setter_refuses_to_change_a_kept_value():
    cfg = BertConfig()
    state = State(levels()[0])
    assert not state.set(cfg, "", "hidden_act", "relu")  # a variant value: refused
    assert cfg.hidden_act == "gelu" and state.refused == [("hidden_act", "gelu", "relu")] and not state.shrunk
    assert state.set(cfg, "", "hidden_size", 32)  # a size: changed and recorded
    assert state.shrunk == [("hidden_size", 768, 32)]


def test_a_kept_value_may_be_filled_where_unset_or_reshaped_by_a_pass_that_says_so():
    cfg = BertConfig()
    cfg.layer_types = None
    state = State(levels()[0])
    assert state.set(cfg, "", "layer_types", ["full_attention"] * 2)  # unset: filled
    assert not state.set(cfg, "", "layer_types", ["full_attention"])
    assert state.set(cfg, "", "layer_types", ["full_attention"], reshape=True)  # cut with the stack


def test_a_capped_kept_value_is_capped_as_the_rules_say_and_reported_kept():
    cfg, report = tiny_config(OlmoeConfig)
    assert ("num_experts_per_tok", 8, 2) in report.shrunk and cfg.num_experts_per_tok == 2
    assert ("num_experts_per_tok", 8) in report.kept


def test_a_pass_that_tries_to_change_a_kept_value_leaves_it(monkeypatch):
    """A size rule naming a kept value (here a cap on the rotary base) does not change it."""
    from hfscan.harness.shrink import ruleset

    real = ruleset.rules()
    rules = {**real, "rule": [*real["rule"], {"kind": "cap", "max": 4, "attrs": ["max_position_embeddings"]}]}
    rules["keep"] = {**real["keep"], "attrs": [*real["keep"]["attrs"], "max_position_embeddings"]}
    monkeypatch.setattr(ruleset, "rules", lambda: rules)
    cfg, report = tiny_config(MistralConfig)
    assert cfg.max_position_embeddings == MistralConfig().max_position_embeddings
    assert not any(p == "max_position_embeddings" for p, _, _ in report.shrunk)
    assert cfg.hidden_size == 32  # the other rules did run


def test_the_pass_tables_name_each_pass_once():
    for table in (PASSES, CONFIG_PASSES):
        names = [name for name, _ in table]
        assert len(names) == len(set(names))
    assert [name for name, _ in PASSES][:2] == ["build", "shrink every config"]


def test_hfscan_run_exits_2_with_file_and_line_on_a_broken_rules_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from hfscan.cli import cli
    from hfscan.harness.shrink import ruleset

    path, text = _copy_with(tmp_path, 'kind = "vocab"', 'kind = "vocabulary"')
    monkeypatch.setattr(ruleset, "RULES_FILE", path)
    ruleset.rules.cache_clear()
    try:
        done = CliRunner().invoke(cli, ["run", "bert", "--store", str(tmp_path / "s.sqlite")])
    finally:
        ruleset.rules.cache_clear()
    assert done.exit_code == 2, done.output
    line = _line_of(text, 'kind = "vocabulary"')
    assert f"{path}:{line}: rule kind 'vocabulary' is unknown" in done.output
    assert "Traceback" not in done.output and not (tmp_path / "s.sqlite").exists()


def test_the_deepest_stage_keeps_a_second_block_and_block_indices_follow_the_cut_stages():
    from transformers import ResNetConfig

    from hfscan.harness.shrink.layers import stage_block_map

    assert list(tiny_config(ResNetConfig)[0].depths) == [1, 1, 2, 1]  # [3, 4, 6, 3]
    assert stage_block_map([5, 7, 9], [1, 2, 7, 2], [1, 1, 2, 1]) == [3]  # a windowed block, then the global one
    assert stage_block_map([0, 1, 2], [1, 2, 3], [1, 1, 2]) == [0, 1]  # all named: all named; first kind first
    assert stage_block_map([2, 3], [2, 2], [1, 1]) == [1]  # a stage of one block takes its first block's kind


def test_the_first_layer_is_a_kind_of_its_own_so_its_kind_is_kept_at_a_later_layer_too():
    from hfscan.harness.shrink.values import _cut_pattern, pattern_kinds

    pattern = ["sliding", "sliding", "full", "sliding", "full"]
    assert pattern_kinds(pattern) == 3 and _cut_pattern(pattern, 3) == ["sliding", "sliding", "full"]
    assert _cut_pattern(["a", "b", "c", "a"], 3) == ["a", "b", "c"]  # a kind no layer had comes before "a" again
    assert _cut_pattern(["a", "b", "c", "a"], 4) == ["a", "b", "c", "a"]


def test_a_stem_narrower_than_the_first_stage_stays_narrower():
    from transformers import ResNetConfig

    cfg = tiny_config(ResNetConfig)[0]  # 64 before 256: the first block projects its shortcut
    assert cfg.embedding_size < cfg.hidden_sizes[0]
