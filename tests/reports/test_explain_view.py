"""The terminal view of one classification, for each outcome."""

from hfscan.classifiers.classify import decide
from hfscan.classifiers.graph import load_graph
from hfscan.classifiers.records import CATEGORIES, Trait
from hfscan.reports.explain_view import print_explanation


def test_classified_view_names_sources_path_and_rivals(classifications, capsys):
    print_explanation(classifications["llama"])
    out = capsys.readouterr().out
    assert "family: dense-decoder  category: decoder-only  template: causal-lm" in out
    assert "causal-decoder" in out and "task:causal-lm" in out
    assert "decoder-only: any of causal-decoder" in out
    assert "moe-decoder" in out and "requires moe: not found" in out


def test_ambiguous_and_unclassified_views(tmp_path, capsys):
    path = tmp_path / "families.toml"
    path.write_text("\n".join(f'[family.{c}]\nrequires = ["text-input"]\ntemplate = "generic"\n' for c in CATEGORIES))
    graph = load_graph(path)
    print_explanation(decide("x", (Trait("text-input", "input_ids", "forward(X)"),), graph), graph)
    out = capsys.readouterr().out
    assert "ambiguous: several families hold" in out and "tied: encoder-only, decoder-only" in out
    assert "no top-level category holds" not in out
    print_explanation(decide("y", (), graph, source_errors=(("config", "TypeError: boom"),)), graph)
    out = capsys.readouterr().out
    assert "unclassified: no top-level category holds" in out
    assert "could not read config: TypeError: boom" in out and "(none)" in out


def test_explain_prints_each_check_and_whether_it_applies(inventory, classifications, capsys):
    from hfscan.reports.explain_view import check_rows, print_checks

    rows = {r["check"]: r for r in check_rows(inventory.get("bert"), classifications["bert"])}
    assert rows["attention"]["applies"] and "model entry = forward" in rows["attention"]["rule"]
    assert not rows["cache"]["applies"] and "not generative" in rows["cache"]["reason"]
    assert {"backward", "batch", "dtype"} <= {c for c, r in rows.items() if r["applies"]}
    gpt2 = {r["check"]: r for r in check_rows(inventory.get("gpt2"), classifications["gpt2"])}
    assert gpt2["cache"]["applies"]
    print_checks(list(rows.values()))
    out = capsys.readouterr().out
    assert "checks (BertForMaskedLM)" in out and "does not apply: the class's task 'masked-lm' is not generative" in out
