"""Discovery is checked against transformers' own mappings, never against typed-in numbers."""

import json

import pytest
from transformers.models.auto import configuration_auto, modeling_auto

from hfscan.errors import UnknownModelTypeError
from hfscan.scanner.discover import discover, filter_records, model_mappings, scan
from hfscan.scanner.records import Inventory
from hfscan.scanner.tasks import task_from_mapping_name


def test_every_config_mapping_entry_is_a_record(inventory):
    assert list(inventory.model_types) == list(configuration_auto.CONFIG_MAPPING_NAMES)


def test_every_mapping_entry_appears_as_a_task(inventory):
    for name, mapping in model_mappings().items():
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


def test_no_modeling_module_imported():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from hfscan.scanner.discover import scan\n"
        "scan()\n"
        "mods = [m for m in sys.modules if m.startswith('transformers.models.') and '.modeling_' in m and not m.startswith('transformers.models.auto.')]\n"
        "print(len(mods))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0"


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


def test_processor_mappings_read_from_source_match_the_imported_ones():
    import importlib

    from hfscan.scanner.discover import PROCESSOR_MAPPINGS, _literal_mapping

    for module_name, attr, _ in PROCESSOR_MAPPINGS:
        literal = _literal_mapping(module_name, attr)
        if literal is None:
            continue
        module = importlib.import_module(f"transformers.models.auto.{module_name}")
        assert literal == dict(getattr(module, attr)), attr
