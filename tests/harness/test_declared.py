"""Model classes found by the config class they declare, and classes a mapping names but the package hides."""

from __future__ import annotations

import pytest
import transformers

from hfscan.harness.declared import declaring_classes, documented_classes
from hfscan.harness.inputs import documented_dims
from hfscan.harness.smoke import _model_class, plan_jobs


@pytest.mark.parametrize("model_type, expected", [
    ("speecht5_hifigan", "SpeechT5HifiGan"),  # no Model/For* name: the name rule of discovery misses it
    ("qwen3_omni_moe_talker_text", "Qwen3OmniMoeTalkerModel"),  # its name is not its config's stem
    ("EvollaModel", "EvollaModel"),  # a config-mapping alias: its classes sit under the other name
])
def test_a_type_in_no_mapping_is_planned_with_the_class_declaring_its_config(inventory, model_type, expected):
    record = inventory.get(model_type)
    assert not record.tasks and not record.unmapped_classes
    (job,) = plan_jobs(record, checks=("build",), overrides={})
    assert job.model_class == expected
    assert getattr(transformers, expected).config_class.__name__ == record.config_class


def test_only_classes_declaring_that_config_are_found():
    found = declaring_classes("transformers.models.qwen3_omni_moe", "Qwen3OmniMoeTalkerTextConfig")
    assert found == ("Qwen3OmniMoeTalkerModel",)
    assert declaring_classes("transformers.models.layoutxlm", "LayoutXLMConfig") == ()  # a processor-only config


def test_a_mapped_class_the_package_does_not_export_comes_from_the_modeling_module():
    assert not hasattr(transformers, "VoxtralRealtimeTextModel")
    cls = _model_class("VoxtralRealtimeTextModel", "voxtral_realtime_text")
    assert cls.__name__ == "VoxtralRealtimeTextModel" and cls.config_class.__name__ == "VoxtralRealtimeTextConfig"
    with pytest.raises(AttributeError) as info:  # transformers' own error, not one of hfscan's
        _model_class("NoSuchModel", "voxtral_realtime_text")
    assert "/hfscan/" not in info.traceback[-1].path.as_posix() and "NoSuchModel" in str(info.value)


def test_a_shape_documented_in_the_argument_description_is_read():
    assert documented_dims(transformers.SpeechT5HifiGan, "spectrogram") == [
        "batch_size", "sequence_length", "config.model_in_dim"]


def test_a_config_with_no_model_class_is_planned_with_the_class_its_docstring_example_builds(inventory):
    record = inventory.get("nougat")
    assert not record.tasks and not record.unmapped_classes
    assert not declaring_classes(record.module, record.config_class)
    (job,) = plan_jobs(record, checks=("build",), overrides={})
    assert job.model_class == "VisionEncoderDecoderModel"


def test_only_an_exported_class_built_from_the_config_instance_counts():
    assert documented_classes("transformers.models.bert.configuration_bert", "BertConfig") == ("BertModel",)
    # the example builds LayoutXLMModel, which transformers does not export
    assert documented_classes("transformers.models.layoutxlm.configuration_layoutxlm", "LayoutXLMConfig") == ()


def test_a_mapped_class_that_declares_another_types_config_is_not_the_representative(inventory):
    """4.57 maps fastspeech2_conformer's text-to-waveform to FastSpeech2ConformerWithHifiGan, which is built
    from FastSpeech2ConformerWithHifiGanConfig: the type's own FastSpeech2ConformerModel is tested instead."""
    import dataclasses

    from hfscan.harness.declared import foreign_classes

    package, config = "transformers.models.fastspeech2_conformer", "FastSpeech2ConformerConfig"
    foreign = foreign_classes(package, config)
    assert "FastSpeech2ConformerWithHifiGan" in foreign and "FastSpeech2ConformerModel" not in foreign
    record = inventory.get("fastspeech2_conformer")
    as_457 = dataclasses.replace(record, tasks=(("text-to-spectrogram", "FastSpeech2ConformerModel"),
                                                ("text-to-waveform", "FastSpeech2ConformerWithHifiGan"),
                                                ("base", "FastSpeech2ConformerModel")))
    assert [j.model_class for j in plan_jobs(as_457, "text-to-audio", overrides={})] == ["FastSpeech2ConformerModel"]
