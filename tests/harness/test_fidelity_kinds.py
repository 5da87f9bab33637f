"""fidelity: what is no layer kind (stand-ins), filled values at full size, and real configs whose kinds the
shrinker keeps (stage depths, block indices over stages, end layers, index lists, block-sparse attention)."""

from __future__ import annotations

import torch
from torch import nn

from hfscan.harness import fidelity
from hfscan.harness.fidelity import compare, compare_configs, layer_kind
from hfscan.harness.shrink import tiny_config


class Block(nn.Module):
    def __init__(self, norm: bool, shortcut: bool = False):
        super().__init__()
        self.attn_norm = nn.LayerNorm(4) if norm else nn.Identity()  # none before the first layer's attention
        self.mlp_norm = nn.LayerNorm(4)
        self.proj = nn.Linear(4, 4)
        if shortcut:
            self.shortcut = nn.Conv1d(4, 4, 1)


class Stack(nn.Module):
    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList(layers)


def test_a_stand_in_child_is_no_part_of_a_layers_kind_but_a_lost_module_still_fails():
    assert layer_kind(Block(norm=False)) == layer_kind(Block(norm=True))  # the first layer's Identity norm
    assert compare(Stack(Block(False), Block(True)), Stack(Block(True), Block(True))).ok
    lost = compare(Stack(Block(True), Block(True, shortcut=True)), Stack(Block(True), Block(True)))
    assert not lost.ok and lost.missing_classes == ["Conv1d"] and "Conv1d" in lost.missing_kinds["layers"][0]


def test_an_empty_sequential_layer_is_no_kind_but_a_dropped_real_one_is():
    full = nn.Sequential(nn.Sequential(), nn.Sequential(nn.Linear(4, 4)))
    assert compare(full, nn.Sequential(nn.Sequential(nn.Linear(4, 4)))).ok  # equal widths: no projection
    full = nn.Sequential(nn.Sequential(nn.Conv1d(4, 4, 1)), nn.Sequential(nn.Linear(4, 4)))
    lost = compare(full, nn.Sequential(nn.Sequential(nn.Linear(4, 4)), nn.Sequential()))
    assert not lost.ok and lost.missing_kinds


def test_a_filled_value_that_follows_a_full_size_value_takes_it():
    from transformers import MoonshineStreamingConfig

    # the decoder config declares no kv heads: the attempt filled 4 (its tiny heads); at full size, the query heads
    cfg = fidelity.full_config(MoonshineStreamingConfig, filled={"num_key_value_heads": 4})
    assert cfg.num_key_value_heads == cfg.num_attention_heads == 8
    cfg = fidelity.full_config(MoonshineStreamingConfig, filled={"decoder_start_token_id": 3})
    assert cfg.decoder_start_token_id == 3  # no relation: the filled value


def _full_and_tiny(config_class):
    return fidelity.full_config(config_class), tiny_config(config_class)[0]


def test_a_cnn_keeps_a_stage_block_beside_its_first_and_fails_without_it():
    from transformers import RegNetConfig, RegNetModel

    full, tiny = _full_and_tiny(RegNetConfig)
    assert sorted(tiny.depths) == [1, 1, 1, 2]
    assert compare_configs(RegNetModel, full, tiny).ok
    tiny.depths = [1] * len(tiny.depths)  # one block a stage: the later blocks' kind is gone
    lost = compare_configs(RegNetModel, full, tiny)
    assert not lost.ok and "encoder.stages.*.layers" in lost.missing_kinds


def test_global_blocks_over_stages_are_mapped_into_the_cut_stages_and_fail_without():
    from transformers import Sam2HieraDetConfig, Sam2HieraDetModel

    full, tiny = _full_and_tiny(Sam2HieraDetConfig)
    assert sum(tiny.blocks_per_stage) > max(tiny.global_attention_blocks)  # inside the cut stack
    assert compare_configs(Sam2HieraDetModel, full, tiny).ok
    tiny.global_attention_blocks = [b + 10 for b in full.global_attention_blocks]  # every block windowed
    lost = compare_configs(Sam2HieraDetModel, full, tiny)
    assert not lost.ok and "window_size:unset" in lost.message()


def test_end_layers_and_kind_selecting_index_lists_keep_a_layer_between():
    from transformers import GraniteSpeech5Encoder, GraniteSpeech5EncoderConfig
    from transformers import Sam3LiteTextTextConfig, Sam3LiteTextTextModel

    full, tiny = _full_and_tiny(Sam3LiteTextTextConfig)
    assert tiny.num_hidden_layers == 3 and compare_configs(Sam3LiteTextTextModel, full, tiny).ok
    assert tiny_config(Sam3LiteTextTextConfig(use_repmixer_blocks=False))[0].num_hidden_layers == 2
    tiny.num_hidden_layers = 2  # first and last layers only: the encoder layers between are gone
    assert not compare_configs(Sam3LiteTextTextModel, full, tiny).ok
    full, tiny = _full_and_tiny(GraniteSpeech5EncoderConfig)
    assert len(tiny.subsample_layers) < tiny.num_hidden_layers  # a plain block beside the subsampling ones
    assert compare_configs(GraniteSpeech5Encoder, full, tiny).ok


def test_block_sparse_attention_stays_block_sparse_through_forward():
    from transformers import BigBirdConfig, BigBirdModel

    tiny = tiny_config(BigBirdConfig)[0]
    assert (tiny.block_size, tiny.num_random_blocks) == (1, 1)
    model = BigBirdModel(tiny).eval()
    with torch.no_grad():
        model(input_ids=torch.randint(0, tiny.vocab_size, (2, 8)))
    assert model.attention_type == "block_sparse"  # too short a sequence falls back to full attention for good
    assert compare(fidelity.full_model(BigBirdModel, fidelity.full_config(BigBirdConfig)), model).ok
