"""fidelity of real configs whose first layer, or whose stem, the model builds apart: kept, and failing without."""

from __future__ import annotations

from hfscan.harness import fidelity
from hfscan.harness.fidelity import compare_configs
from hfscan.harness.shrink import tiny_config


def test_a_first_layer_built_apart_leaves_its_kind_at_a_later_layer():
    from transformers import Inkling2ForCausalLM, Inkling2TextConfig

    full, tiny = fidelity.full_config(Inkling2TextConfig), tiny_config(Inkling2TextConfig)[0]
    assert compare_configs(Inkling2ForCausalLM, full, tiny).ok
    tiny.layer_types = ["hybrid_sliding", "hybrid", "hybrid", "hybrid"]  # the one sliding layer is the first
    lost = compare_configs(Inkling2ForCausalLM, full, tiny)
    assert not lost.ok and "is_sliding=True" in lost.message()


def test_a_stem_as_wide_as_the_first_stage_loses_the_shortcut_projection():
    from transformers import RTDetrResNetBackbone, RTDetrResNetConfig

    full, tiny = fidelity.full_config(RTDetrResNetConfig), tiny_config(RTDetrResNetConfig)[0]
    assert compare_configs(RTDetrResNetBackbone, full, tiny).ok
    tiny.embedding_size = tiny.hidden_sizes[0]
    assert not compare_configs(RTDetrResNetBackbone, full, tiny).ok
