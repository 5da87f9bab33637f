"""Discovery is checked against transformers' own mappings, never against typed-in numbers."""

import json

import pytest
from transformers.models.auto import configuration_auto, modeling_auto

from hfscan.errors import UnknownModelTypeError
from hfscan.scanner import discover as discover_module
from hfscan.scanner import source as source_module
from hfscan.scanner.discover import discover, filter_records, scan
from hfscan.scanner.records import Inventory
from hfscan.scanner.tasks import task_from_mapping_name


def test_every_config_mapping_entry_is_a_record(inventory):
    assert list(inventory.model_types) == list(configuration_auto.CONFIG_MAPPING_NAMES)


def _model_mappings():
    """transformers' own model mappings, imported."""
    return {n: getattr(modeling_auto, n) for n in dir(modeling_auto) if task_from_mapping_name(n) is not None}


def test_every_mapping_entry_appears_as_a_task(inventory):
    for name, mapping in _model_mappings().items():
        task = task_from_mapping_name(name)
        for model_type, value in mapping.items():
            if model_type not in inventory:
                assert (name, model_type) in inventory.orphan_keys
                continue
            classes = (value,) if isinstance(value, str) else tuple(v for v in value if v)
            record = inventory.get(model_type)
            for cls in classes:
                assert cls in record.classes_for(task), (model_type, task, cls)


def test_every_model_mapping_is_a_task(inventory):
    mappings = {n for n in dir(modeling_auto) if n.startswith("MODEL_") and n.endswith("MAPPING_NAMES")}
    assert mappings == {m for _, m in inventory.tasks}


@pytest.mark.parametrize(
    "model_type, task, cls",
    [
        ("bert", "masked-lm", "BertForMaskedLM"),
        ("bert", "sequence-classification", "BertForSequenceClassification"),
        ("bert", "question-answering", "BertForQuestionAnswering"),
        ("gpt2", "causal-lm", "GPT2LMHeadModel"),
        ("t5", "seq2seq-lm", "T5ForConditionalGeneration"),
        ("bart", "seq2seq-lm", "BartForConditionalGeneration"),
        ("vit", "image-classification", "ViTForImageClassification"),
        ("whisper", "speech-seq2seq", "WhisperForConditionalGeneration"),
        ("wav2vec2", "ctc", "Wav2Vec2ForCTC"),
    ],
)
def test_spot_facts(inventory, model_type, task, cls):
    assert cls in inventory.get(model_type).classes_for(task)


def test_sub_config_relations(inventory):
    clip = inventory.get("clip")
    assert inventory.get("clip_vision_model").parents == ("clip",) or "clip" in inventory.get("clip_vision_model").parents
    assert {"clip_vision_model", "clip_text_model"} <= set(clip.parts)
    assert inventory.get("qwen2_vl_text").parents == ("qwen2_vl",)
    # relations are symmetric
    for r in inventory:
        for parent in r.parents:
            assert r.model_type in inventory.get(parent).parts


def test_processors(inventory):
    kinds = dict(inventory.get("whisper").processors)
    assert "feature_extractor" in kinds and "tokenizer" in kinds
    assert "image_processor" in dict(inventory.get("vit").processors)


def test_versions_recorded(inventory):
    import transformers

    assert inventory.transformers_version == transformers.__version__


def test_scan_from_source_imports_no_modeling_module_nor_torch_and_changes_no_table():
    """Reading the tables from source must not touch transformers' own module objects."""
    import subprocess
    import sys

    code = (
        "import copy, sys\n"
        "from transformers.models.auto import auto_mappings\n"
        "before = {n: copy.deepcopy(v) for n, v in vars(auto_mappings).items() if n.endswith('_NAMES')}\n"
        "from hfscan.scanner.discover import scan\n"
        "scan()\n"
        "after = {n: v for n, v in vars(auto_mappings).items() if n.endswith('_NAMES')}\n"
        "mods = [m for m in sys.modules if m.startswith('transformers.models.') and '.modeling_' in m and not m.startswith('transformers.models.auto.')]\n"
        "print(len(mods), 'torch' in sys.modules, before == after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 False True"


def test_cache_round_trip(inventory):
    again = discover()
    assert again.to_json() == inventory.to_json()
    assert Inventory.from_json(json.loads(json.dumps(inventory.to_json()))).to_json() == inventory.to_json()


def test_damaged_cache_is_rebuilt(_hfscan_home, inventory):
    from hfscan.paths import cache_dir

    for path in cache_dir("discover").glob("*.json"):
        path.write_text("{not json")
    assert len(discover()) == len(inventory)


def test_unknown_type_suggests_close_names(inventory):
    with pytest.raises(UnknownModelTypeError) as err:
        inventory.get("bertt")
    assert "bert" in err.value.closest


def test_filter(inventory):
    ctc = filter_records(inventory, task="ctc")
    assert ctc and all("ctc" in r.task_names for r in ctc)
    names = [r.model_type for r in filter_records(inventory, pattern="qwen2*")]
    assert names and all(n.startswith("qwen2") for n in names)


def test_task_names_derive_from_mapping_names():
    assert task_from_mapping_name("MODEL_FOR_CAUSAL_LM_MAPPING_NAMES") == "causal-lm"
    assert task_from_mapping_name("MODEL_MAPPING_NAMES") == "base"
    assert task_from_mapping_name("MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES") == "seq2seq-lm"
    # a mapping no table of ours knows still becomes a task
    assert task_from_mapping_name("MODEL_FOR_SOMETHING_NEW_MAPPING_NAMES") == "something-new"
    assert task_from_mapping_name("CONFIG_MAPPING_NAMES") is None


def test_unmapped_classes_found(inventory):
    # CLIPVisionModelWithProjection is exported by modeling_clip but sits in no auto mapping
    assert "CLIPVisionModelWithProjection" in inventory.get("clip_vision_model").unmapped_classes
    mapped = {c for r in inventory for c in r.model_classes}
    for r in inventory:
        assert not set(r.unmapped_classes) & mapped


@pytest.fixture(scope="module")
def reference():
    """The inventory built by importing every table and config class (the slow reference path)."""
    return scan(from_source=False).to_json()


def test_reading_source_gives_exactly_what_importing_gives(inventory, reference):
    assert inventory.to_json() == reference


@pytest.mark.parametrize(
    "module, attr",
    [("configuration_auto", "CONFIG_MAPPING_NAMES"), ("configuration_auto", "DEPRECATED_MODELS")]
    + [(module, attr) for module, attr, _ in discover_module.PROCESSOR_MAPPINGS],
)
def test_tables_evaluated_from_source_match_the_imported_ones(module, attr):
    import importlib

    name = f"transformers.models.auto.{module}"
    values = source_module._evaluate(name, [attr])
    imported = getattr(importlib.import_module(name), attr)
    # compared as plain containers: a table transformers fills from a set has no stable order
    assert type(values[attr]) is type(imported)
    assert (dict(values[attr]) if isinstance(imported, dict) else values[attr]) == (
        dict(imported) if isinstance(imported, dict) else imported
    )


def test_module_names_from_source_match_transformers_function():
    tables = discover_module.auto_tables()
    assert tables.module_names == {t: configuration_auto.model_type_to_module_name(t) for t in configuration_auto.CONFIG_MAPPING_NAMES}


def test_an_evaluated_function_that_fails_is_imported_instead(monkeypatch):
    evaluate = source_module._evaluate

    def broken_function(module, names, *args):
        values = evaluate(module, names, *args)
        if "model_type_to_module_name" in values:
            values["model_type_to_module_name"] = lambda key: {}[key]
        return values

    monkeypatch.setattr(source_module, "_evaluate", broken_function)
    tables = discover_module.auto_tables()
    assert tables.module_names["bert"] == configuration_auto.model_type_to_module_name("bert")
    assert len(tables.module_names) == len(configuration_auto.CONFIG_MAPPING_NAMES)


def test_evaluating_source_runs_only_what_the_names_need():
    """The processor table is completed at import time, without importing the processing stack."""
    values = source_module._evaluate("transformers.models.auto.image_processing_auto", ["IMAGE_PROCESSOR_MAPPING_NAMES", "NO_SUCH_NAME"])
    assert list(values) == ["IMAGE_PROCESSOR_MAPPING_NAMES"]
    from transformers.models.auto import auto_mappings

    # the import-time additions are there, and transformers' own table object is a different one
    assert len(values["IMAGE_PROCESSOR_MAPPING_NAMES"]) >= len(auto_mappings.IMAGE_PROCESSOR_MAPPING_NAMES)
    assert values["IMAGE_PROCESSOR_MAPPING_NAMES"] is not auto_mappings.IMAGE_PROCESSOR_MAPPING_NAMES


def test_everything_falls_back_to_importing_when_no_source_can_be_read(monkeypatch, reference):
    def unreadable(module):
        raise source_module._Unresolved(module)

    monkeypatch.setattr(source_module, "_parse", unreadable)
    assert scan().to_json() == reference


def test_modules_whose_source_cannot_be_read_are_imported_one_by_one(monkeypatch, reference):
    """Half the modules read from source, half imported: the result must not change."""
    import zlib

    parse = source_module._parse
    refused: list[str] = []

    def every_other(module):
        if zlib.crc32(module.encode()) % 2:
            refused.append(module)
            raise source_module._Unresolved(module)
        return parse(module)

    monkeypatch.setattr(source_module, "_parse", every_other)
    assert scan().to_json() == reference
    assert any(".configuration_" in m for m in refused) and any(m.startswith("transformers.models.auto.") for m in refused)
