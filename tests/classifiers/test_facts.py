"""Facts read from real config classes and forward() signatures, the cache, and unreadable sources."""

import json
import os
import subprocess
import sys

from hfscan.classifiers.facts import extract, load_facts
from hfscan.classifiers.traits import find_traits
from hfscan.scanner.records import Inventory, ModelTypeRecord


def test_config_defaults_and_forward_inputs(inventory):
    facts = extract(inventory.get("bert"))
    assert facts.config["vocab_size"] > 0 and facts.config["is_encoder_decoder"] is False
    assert "model_type" not in facts.config  # the name is never a fact
    assert facts.input_class == "BertModel"
    assert {"input_ids", "attention_mask", "token_type_ids"} <= set(facts.inputs)
    assert facts.errors == ()


def test_nested_plain_tables_and_sub_configs(inventory):
    llava = extract(inventory.get("llava"))
    assert {"vision_config", "text_config"} <= set(llava.sub_configs)
    llama = extract(inventory.get("llama"))
    assert any(k.startswith("rope_parameters.") for k in llama.config)


def test_unreadable_sources_are_recorded_not_raised():
    record = ModelTypeRecord(
        model_type="zz_not_a_model_type", config_class="NoSuchConfig", config_module="", module="",
        tasks=(("base", "NoSuchModel"),),
    )
    facts = extract(record)
    sources = dict(facts.errors)
    assert sources["config"].startswith("KeyError")
    assert sources["forward(NoSuchModel)"].startswith("AttributeError")
    assert find_traits(record, facts) == ()


def test_cache_round_trip(inventory):
    facts = load_facts(inventory)
    again = load_facts(inventory)
    assert again == facts
    assert again["bert"].inputs == extract(inventory.get("bert")).inputs


def test_warm_classification_imports_no_modeling_module(inventory):
    load_facts(inventory)  # the session's cache is warm
    code = (
        "import sys, json\n"
        "from hfscan.scanner.discover import discover\n"
        "from hfscan.classifiers import classify_all\n"
        "c = classify_all(discover())\n"
        "print(json.dumps([len(c), sorted(m for m in sys.modules if '.modeling_' in m)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ), check=True)
    count, modeling = json.loads(out.stdout.strip().splitlines()[-1])
    assert count == len(inventory)
    assert modeling == []


def test_a_damaged_cache_is_rebuilt_and_a_partial_one_completed(inventory, tmp_path, monkeypatch):
    monkeypatch.setenv("HFSCAN_HOME", str(tmp_path))  # keep the session's cache out of this
    from hfscan.classifiers.facts import _cache_path

    small = Inventory(inventory.transformers_version, inventory.torch_version, (inventory.get("bert"),))
    path = _cache_path(small)
    path.write_text("[not, json")
    assert load_facts(small)["bert"] == extract(inventory.get("bert"))
    two = Inventory(inventory.transformers_version, inventory.torch_version, (inventory.get("bert"), inventory.get("gpt2")))
    assert set(load_facts(two)) == {"bert", "gpt2"}
    assert set(json.loads(path.read_text())) == {"bert", "gpt2"}


def test_many_records_are_read_in_a_forked_child_too_and_equal_reading_them_here(inventory, monkeypatch):
    from hfscan.classifiers import facts as facts_mod

    records = [inventory.get(mt) for mt in ("bert", "gpt2", "t5", "clip", "whisper", "llama")]
    serial = {r.model_type: extract(r) for r in records}
    monkeypatch.setattr(facts_mod, "_PARALLEL_MIN", 2)
    monkeypatch.setattr(facts_mod, "_cores", lambda: 2)
    parent = os.getpid()
    seen = []
    real = facts_mod._extract_chunk

    def chunk(rs):
        seen.append(os.getpid() == parent)
        return real(rs)

    monkeypatch.setattr(facts_mod, "_extract_chunk", chunk)
    parallel = facts_mod.extract_many(records)
    assert list(parallel) == list(serial) and parallel == serial
    assert seen == [True]  # the parent read one half; the other half was read in the child


def test_a_child_that_dies_leaves_its_half_to_this_process(inventory, monkeypatch):
    from hfscan.classifiers import facts as facts_mod

    records = [inventory.get(mt) for mt in ("bert", "gpt2", "t5", "clip")]
    monkeypatch.setattr(facts_mod, "_PARALLEL_MIN", 2)
    monkeypatch.setattr(facts_mod, "_cores", lambda: 2)
    parent = os.getpid()
    real = facts_mod._extract_chunk

    def chunk(rs):
        if os.getpid() != parent:
            os._exit(3)  # the child dies without an answer
        return real(rs)

    monkeypatch.setattr(facts_mod, "_extract_chunk", chunk)
    got = facts_mod.extract_many(records)
    assert got == {r.model_type: extract(r) for r in records}
