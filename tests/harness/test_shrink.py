"""Tiny configs: sizes shrink, relations and variant-defining values survive."""

from __future__ import annotations

import pytest
from transformers import (
    LlamaConfig,
    LlavaConfig,
    MistralConfig,
    Qwen3NextConfig,
    SwinConfig,
)

from hfscan.harness import shrink
from hfscan.harness.shrink import tiny_config


def test_heads_and_grouped_query_ratio_stay_consistent():
    cfg, report = tiny_config(LlamaConfig(num_attention_heads=32, num_key_value_heads=8, hidden_size=4096))
    assert cfg.num_hidden_layers <= 2 and cfg.hidden_size <= 32
    assert cfg.num_attention_heads == 4
    assert cfg.num_key_value_heads == 1  # 32 / 8 = 4 queries per kv head, kept
    assert cfg.num_attention_heads % cfg.num_key_value_heads == 0
    assert cfg.head_dim * cfg.num_attention_heads <= 4 * 8
    assert ("num_key_value_heads", 8, 1) in report.shrunk


def test_a_grouped_query_ratio_above_the_head_cap_is_kept():
    from transformers import Qwen2Config

    cfg, _ = tiny_config(Qwen2Config(num_attention_heads=28, num_key_value_heads=4, hidden_size=3584))
    assert (cfg.num_attention_heads, cfg.num_key_value_heads) == (7, 1)  # 28 / 4 = 7 queries per kv head
    # no explicit head width: the hidden width holds the heads, each of an even (rotary) width
    assert cfg.hidden_size % cfg.num_attention_heads == 0 and (cfg.hidden_size // cfg.num_attention_heads) % 2 == 0
    cfg, _ = tiny_config(LlamaConfig(num_attention_heads=32, num_key_value_heads=4, head_dim=128))
    assert (cfg.num_attention_heads, cfg.num_key_value_heads, cfg.hidden_size) == (8, 1, 32)  # explicit head width
    cfg, _ = tiny_config(LlamaConfig(num_attention_heads=96, num_key_value_heads=8, hidden_size=6144))  # ratio 12
    assert cfg.num_attention_heads == 12 and cfg.num_key_value_heads == 1  # kept (GLM-4.5-Air's grouping)
    cfg, _ = tiny_config(LlamaConfig(num_attention_heads=96, num_key_value_heads=4, hidden_size=6144))  # ratio 24 > max_ratio
    assert cfg.num_attention_heads == 4 and cfg.num_key_value_heads == 1


def test_an_instance_keeps_its_variant_values():
    original = MistralConfig(sliding_window=1234, hidden_act="gelu", tie_word_embeddings=True)
    cfg, report = tiny_config(original)
    assert (cfg.hidden_act, cfg.tie_word_embeddings) == ("gelu", True)
    assert cfg.sliding_window == 4  # still a window, now shorter than the 8-token test input: its mask masks
    kept = dict(report.kept)
    assert kept["sliding_window"] == 1234 and kept["hidden_act"] == "gelu"
    assert original.hidden_size == 4096  # the input config is not touched


def test_special_token_ids_are_remapped_inside_the_vocabulary():
    cfg, _ = tiny_config(LlavaConfig)
    vocab = cfg.text_config.vocab_size
    assert vocab <= 512
    ids = [cfg.image_token_id, cfg.text_config.bos_token_id, cfg.text_config.eos_token_id]
    assert all(0 <= i < vocab for i in ids if i is not None)
    assert cfg.image_token_id not in (cfg.text_config.bos_token_id, cfg.text_config.eos_token_id)


def test_sub_config_tree_is_shrunk():
    cfg, report = tiny_config(LlavaConfig)
    assert cfg.vision_config.hidden_size <= 32 and cfg.vision_config.num_hidden_layers <= 2
    assert cfg.text_config.hidden_size <= 32 and cfg.text_config.num_hidden_layers <= 2
    paths = {p for p, _, _ in report.shrunk}
    assert "vision_config.hidden_size" in paths and "text_config.hidden_size" in paths


def test_hybrid_layer_pattern_is_cut_keeping_every_kind():
    cfg, _ = tiny_config(Qwen3NextConfig)
    assert len(cfg.layer_types) == cfg.num_hidden_layers
    assert set(cfg.layer_types) == set(Qwen3NextConfig().layer_types)


def test_per_stage_lists_and_derived_fields():
    cfg, _ = tiny_config(SwinConfig)
    assert list(cfg.depths) == [1, 1, 2, 1]  # [2, 2, 6, 2]: the deepest stage keeps a shifted-window block
    assert all(cfg.embed_dim * 2**i % h == 0 for i, h in enumerate(cfg.num_heads))
    # hidden_size is derived by the constructor from embed_dim and the stage count
    assert cfg.hidden_size == cfg.embed_dim * 2 ** (len(cfg.depths) - 1)


def test_layer_indices_are_rescaled_and_stay_distinct():
    assert shrink._rescale_indices([3, 5, 7, 11], 12, 4) == [0, 1, 2, 3]
    assert shrink._rescale_indices([11], 12, 2) == [1]


def test_overrides_set_values_after_shrinking():
    cfg, report = tiny_config(LlavaConfig, overrides={"text_config": {"hidden_size": 48}})
    assert cfg.text_config.hidden_size == 48
    assert ("text_config.hidden_size", 48) in report.overridden


def test_levels_widen():
    names = [lv.name for lv in shrink.levels()]
    assert names[0] == "tiny" and len(names) >= 2
    small, _ = tiny_config(LlamaConfig, level=names[1])
    tiny, _ = tiny_config(LlamaConfig)
    assert small.hidden_size > tiny.hidden_size


@pytest.mark.parametrize("model_type", ["bert", "t5", "whisper", "clip", "deepseek_v3", "mixtral"])
def test_tiny_configs_are_small(model_type):
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    for sub in [cfg, *[v for v in vars(cfg).values() if hasattr(v, "to_dict")]]:
        for attr in ("hidden_size", "d_model", "intermediate_size", "num_hidden_layers", "num_experts"):
            value = getattr(sub, attr, None)
            if isinstance(value, int):
                assert value <= 64, (model_type, attr, value)


def test_layer_counts_that_make_up_the_depth_follow_it():
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING["dory"])
    parts = [v for k, v in vars(cfg).items() if k.startswith("n_") and k.endswith("_layers")]
    assert len(parts) > 1 and sum(parts) == cfg.num_hidden_layers <= 4
    cfg.validate()  # the config's own architecture validator agrees


def test_an_unset_placeholder_token_gets_a_free_id():
    from transformers import Blip2Config

    assert Blip2Config().image_token_index is None
    cfg, _ = tiny_config(Blip2Config)
    vocab = cfg.text_config.vocab_size
    taken = {cfg.text_config.pad_token_id, cfg.text_config.bos_token_id, cfg.text_config.eos_token_id}
    assert 0 <= cfg.image_token_index < vocab and cfg.image_token_index not in taken


def test_rotary_sections_follow_the_head_width():
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING["qwen2_vl"])
    text = cfg.text_config
    head = text.hidden_size // text.num_attention_heads
    assert sum(text.rope_parameters["mrope_section"]) == head // 2


@pytest.mark.parametrize("model_type", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_every_rotary_section_keeps_a_dimension_per_axis(model_type):
    """Three sections (time, height, width) on a head too narrow for one pair each: the head width is doubled
    (the widths that equalled the text width, a vision merger's output, follow it)."""
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    text = cfg.text_config
    head = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    sections = text.rope_parameters["mrope_section"]
    assert len(sections) == 3 and min(sections) >= 1 and sum(sections) == head // 2
    assert getattr(cfg.vision_config, "out_hidden_size", text.hidden_size) == text.hidden_size


def test_token_id_lists_of_generation_settings_stay_inside_the_vocabulary():
    """A suppress list past the cut vocabulary: ids the remap moved follow it, the others are dropped; forced
    (position, id) pairs move to free ids."""
    from transformers import WhisperConfig

    original = WhisperConfig(suppress_tokens=[1, 50256, 40000], begin_suppress_tokens=[220, 50300],
                             forced_decoder_ids=[[1, 50259], [2, 3]])
    cfg, report = tiny_config(original)
    eos = cfg.eos_token_id  # 50256 moved inside the vocabulary
    assert original.eos_token_id == 50256 and cfg.suppress_tokens == [1, eos] and cfg.begin_suppress_tokens == [220]
    (_, moved), kept = cfg.forced_decoder_ids
    assert kept == [2, 3] and moved < cfg.vocab_size and moved not in (eos, cfg.decoder_start_token_id, 1, 220)
    assert ("suppress_tokens", [1, 50256, 40000], [1, eos]) in report.shrunk


def test_a_rotary_wider_than_a_head_keeps_the_head_count_that_fills_its_share_of_the_width():
    from transformers import CONFIG_MAPPING
    from transformers.models.efficientloftr.modeling_efficientloftr import EfficientLoFTRRotaryEmbedding

    original = CONFIG_MAPPING["efficientloftr"]()
    assert original.rope_parameters["partial_rotary_factor"] > 1
    cfg, _ = tiny_config(CONFIG_MAPPING["efficientloftr"])
    assert cfg.hidden_size < original.hidden_size and cfg.num_attention_heads == original.num_attention_heads
    inv_freq, _ = EfficientLoFTRRotaryEmbedding.compute_default_rope_parameters(cfg)
    assert len(inv_freq) == cfg.hidden_size // 4  # the frequencies fill the 2-D embedding's slots (row and column)
    plain, _ = tiny_config(LlamaConfig(num_attention_heads=32, hidden_size=4096, partial_rotary_factor=0.5))
    assert plain.num_attention_heads == 4  # a rotary inside each head: heads are capped as usual


def test_a_partial_rotary_keeps_enough_of_the_cut_head_width_for_both_axes_of_a_2d_rotary():
    import torch
    from transformers import CONFIG_MAPPING
    from transformers.models.neomme.modeling_neomme import NeoMMERotaryEmbedding

    original = CONFIG_MAPPING["neomme"]()
    assert original.head_dim * original.rope_parameters["full_attention"]["partial_rotary_factor"] >= 4
    cfg, _ = tiny_config(CONFIG_MAPPING["neomme"])
    assert cfg.head_dim < original.head_dim
    assert all(cfg.head_dim * p["partial_rotary_factor"] >= 4 for p in cfg.rope_parameters.values())
    rotary = NeoMMERotaryEmbedding(cfg)
    positions = torch.arange(6)[None]
    for kind in cfg.rope_parameters:  # row and column frequencies interleave: none may be missing
        cos, _ = rotary(torch.zeros(1, 6, cfg.hidden_size), positions, layer_type=kind)
        assert cos.shape[-1] == 2 * (int(cfg.head_dim * cfg.rope_parameters[kind]["partial_rotary_factor"]) // 2)


def test_a_stage_selection_left_unset_selects_every_stage_for_heads_that_read_several():
    import torch
    from transformers import CONFIG_MAPPING, BeitForSemanticSegmentation, UVDocModel

    assert CONFIG_MAPPING["beit"]().out_indices == [12]  # the default picks the last layer only
    cfg, _ = tiny_config(CONFIG_MAPPING["beit"])
    assert cfg.out_indices == [1, 2, 3, 4] and cfg.num_hidden_layers == 4  # the depth raised to hold four
    BeitForSemanticSegmentation(cfg)  # its neck takes four feature maps
    cfg, _ = tiny_config(CONFIG_MAPPING["uvdoc"])
    assert cfg.backbone_config.out_indices == list(range(1, len(cfg.backbone_config.stage_configs) + 1))
    with torch.no_grad():  # the head joins every stage's maps
        assert UVDocModel(cfg).eval()(torch.rand(1, 3, 64, 64)).last_hidden_state.shape[0] == 1
    kept, _ = tiny_config(CONFIG_MAPPING["data2vec-vision"])
    assert len(kept.out_indices) == 4  # a selection the config class sets is only moved into the cut depth


def test_a_vocabulary_laid_out_in_ranges_of_codes_keeps_its_layout_when_cut():
    from transformers import CONFIG_MAPPING

    original = CONFIG_MAPPING["apertus1p5"]()
    assert original.image_token_offset > 512  # the text tokens alone outnumber the cut vocabulary
    cfg, _ = tiny_config(CONFIG_MAPPING["apertus1p5"])
    vocab, vision, audio = cfg.text_config.vocab_size, cfg.vision_config.codebook_size, cfg.audio_config.codebook_size
    assert vocab < original.text_config.vocab_size and vision < original.vision_config.codebook_size
    assert cfg.image_token_offset + vision == cfg.audio_token_offset and cfg.audio_token_offset + audio <= vocab
    assert cfg.image_token_id < cfg.image_token_offset  # special tokens stay among the text tokens
    type(cfg)(**cfg.to_dict())  # the config's own validator accepts the layout


def test_backbone_stage_indices_survive_the_rebuild():
    from transformers import DepthAnythingConfig, UperNetConfig

    cfg, _ = tiny_config(UperNetConfig)  # a ResNet backbone keeps its four feature maps
    assert cfg.backbone_config.out_indices == [1, 2, 3, 4]
    cfg, _ = tiny_config(DepthAnythingConfig)  # stages 9-12 of 12 layers: four distinct stages of the tiny depth
    backbone = cfg.backbone_config
    assert len(backbone.out_indices) == len(cfg.neck_hidden_sizes) == 4
    assert backbone.out_indices == sorted(set(backbone.out_indices))
    assert 0 not in backbone.out_indices and max(backbone.out_indices) <= backbone.num_hidden_layers
    assert backbone.out_features == [backbone.stage_names[i] for i in backbone.out_indices]


def test_per_stage_lists_cut_to_the_depth_keep_their_shrunk_values():
    from transformers import Swin2SRConfig

    cfg, _ = tiny_config(Swin2SRConfig)  # depths and num_heads are as long as num_layers
    assert len(cfg.depths) == len(cfg.num_heads) == cfg.num_layers <= 2
    assert max(cfg.depths) == 2 and all(cfg.embed_dim % h == 0 for h in cfg.num_heads)  # the deepest stage: 2


def test_tuples_come_back_as_lists_as_from_a_checkpoint():
    from transformers import VitMatteConfig

    assert isinstance(VitMatteConfig().fusion_hidden_sizes, tuple)
    cfg, _ = tiny_config(VitMatteConfig)
    assert isinstance(cfg.fusion_hidden_sizes, list)


def test_a_word_as_long_as_the_depth_is_not_a_layer_pattern():
    from transformers import BigBirdConfig

    cfg, _ = tiny_config(BigBirdConfig(attention_type="block_sparse", num_hidden_layers=12))
    assert cfg.attention_type == "block_sparse" and cfg.num_hidden_layers == 2


def test_unset_values_a_model_needs_are_filled_from_their_relations():
    from transformers import Lfm2MoeConfig, NemotronConfig

    cfg, _ = tiny_config(NemotronConfig(num_attention_heads=8, num_key_value_heads=None))
    assert cfg.num_key_value_heads == cfg.num_attention_heads == 4  # no grouping: one kv head per query head
    cfg, _ = tiny_config(Lfm2MoeConfig(layer_types=None))
    assert cfg.layer_types == ["full_attention"] * cfg.num_hidden_layers


def test_parts_of_a_width_still_sum_to_it():
    from transformers import ReformerConfig

    cfg, _ = tiny_config(ReformerConfig(hidden_size=256, axial_pos_embds_dim=(64, 192)))
    assert sum(cfg.axial_pos_embds_dim) == cfg.hidden_size < 256
    assert cfg.axial_pos_embds_dim[0] < cfg.axial_pos_embds_dim[1]


def test_a_state_space_mixer_keeps_its_inner_width_relations():
    from transformers import FalconH1Config, Mamba2Config

    cfg, _ = tiny_config(Mamba2Config(hidden_size=4096, expand=2, num_heads=128, head_dim=64, n_groups=8))
    assert cfg.num_heads * cfg.head_dim == cfg.expand * cfg.hidden_size  # held before, holds after
    assert cfg.num_heads % cfg.n_groups == 0
    cfg, _ = tiny_config(FalconH1Config(mamba_n_heads=128, mamba_d_head=8, mamba_d_ssm=1024))
    assert cfg.mamba_d_ssm == cfg.mamba_n_heads * cfg.mamba_d_head < 1024


def test_a_codebook_as_wide_as_the_hidden_width_stays_so():
    from transformers import EncodecConfig

    cfg, _ = tiny_config(EncodecConfig(hidden_size=128, codebook_dim=128))
    assert cfg.codebook_dim == cfg.hidden_size < 128


def test_block_specs_keep_one_block_per_stage_with_capped_widths():
    from transformers import PPLCNetConfig

    cfg, _ = tiny_config(PPLCNetConfig)  # [kernel, in, out, stride, se] per block, blocks per stage
    assert all(len(stage) == 1 for stage in cfg.block_configs) and cfg.depths == [1] * len(cfg.block_configs)
    assert max(x for stage in cfg.block_configs for block in stage for x in block[1:3]) <= 32
    flat = [block for stage in cfg.block_configs for block in stage]
    assert all(a[2] == b[1] for a, b in zip(flat, flat[1:]))  # each block takes what the one before gives


def test_stage_widths_told_apart_by_growth_keep_growing_and_the_tree_follows():
    from transformers import Sam2VisionConfig

    cfg, _ = tiny_config(Sam2VisionConfig)  # Hiera pools queries where the stage width changes
    dims = list(cfg.backbone_config.embed_dim_per_stage)
    assert all(a < b for a, b in zip(dims, dims[1:])) and dims[-1] <= 32
    assert cfg.backbone_config.hidden_size == dims[0]
    assert list(cfg.backbone_channel_list) == dims[::-1]  # the neck's list of the same widths follows


@pytest.mark.parametrize("model_type", ["longcat_flash", "seamless_m4t", "roc_bert", "vjepa2"])
def test_secondary_towers_and_tables_are_shrunk(model_type):
    """Expert widths, zero experts, vocoder/unit tables, predictor towers shrink too (were 13-69M params)."""
    from transformers import CONFIG_MAPPING, AutoModel

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    model = AutoModel.from_config(cfg)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_a_field_stored_under_its_attribute_map_alias_survives_the_rebuild():
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING["inkling_mm_model"])  # vision num_hidden_layers is kept as n_layers
    assert cfg.vision_config.n_layers <= 2


def test_an_unset_choice_takes_the_first_listed_option():
    from transformers import XmodConfig

    cfg, _ = tiny_config(XmodConfig(languages=["en_XX", "de_DE"], default_language=None))
    assert cfg.default_language == "en_XX"


def test_a_width_with_explicit_head_dim_stays_a_multiple_of_the_heads_it_was():
    """cwm, iquestcoder, higgs_audio_v2: 48/40/24 heads over an explicit head_dim, 8 kv heads; their validators
    check hidden_size % heads. An embedding width that equalled the hidden width follows it."""
    from transformers import Qwen2_5OmniTalkerConfig

    cfg, _ = tiny_config(LlamaConfig(hidden_size=6144, num_attention_heads=48, num_key_value_heads=8, head_dim=128))
    assert cfg.num_attention_heads == 6 and cfg.hidden_size % 6 == 0 and cfg.hidden_size % 8 == 0
    cfg.validate()
    cfg, _ = tiny_config(Qwen2_5OmniTalkerConfig)
    assert cfg.hidden_size % cfg.num_attention_heads == 0 and cfg.embedding_size == cfg.hidden_size


@pytest.mark.parametrize("model_type", ["pocket_tts", "gradium_phonon_tts", "fun_asr_nano"])
def test_a_width_a_config_validator_names_is_taken_by_the_rebuild(model_type):
    """Their validators reject the shrunk config ("`flow_head_config.condition_dim` (1024) must equal the backbone
    `hidden_size` (32)"); the rebuild takes the value named, so the config validates (and saves)."""
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    cfg.validate()  # raised before: the constructor rejected the values and the edited copy was kept
    assert (cfg.flow_head_config.condition_dim == cfg.hidden_size if hasattr(cfg, "flow_head_config")
            else cfg.adaptor_config.intermediate_size == cfg.text_config.hidden_size // 4)


def test_a_validator_asking_for_a_larger_value_is_not_followed():
    kwargs = {"num_hidden_layers": 2, "hidden_size": 32}
    grow = ValueError("`num_hidden_layers` (2) must equal `len(layer_types)` (43).")
    assert not shrink._take_wanted_value(grow, kwargs) and kwargs["num_hidden_layers"] == 2
    cut = ValueError("`codebook_dim` (64) must equal `hidden_size` (32).")
    assert not shrink._take_wanted_value(cut, kwargs)  # it names a value the config does not hold
    kwargs["codebook_dim"] = 64
    assert shrink._take_wanted_value(cut, kwargs) and kwargs["codebook_dim"] == 32


def test_a_trailing_part_of_the_stack_and_the_layers_before_it_keep_their_kinds():
    """gemma3n_text: the last 15 of 35 layers reuse the cache of the last earlier layer of their kind; a cut to
    2 layers left 15 sharing layers and no full-attention producer. gemma4_unified_assistant: all layers share."""
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING["gemma3n_text"])
    shared, depth = cfg.num_kv_shared_layers, cfg.num_hidden_layers
    assert 0 < shared < depth <= 4
    assert set(cfg.layer_types[: depth - shared]) == set(cfg.layer_types) == {"sliding_attention", "full_attention"}
    assert cfg.kv_sharing_modes.count("reuse") == shared  # raised before
    cfg, _ = tiny_config(CONFIG_MAPPING["gemma4_unified_assistant"])
    assert cfg.text_config.num_kv_shared_layers == cfg.text_config.num_hidden_layers <= 3  # the first layer, a kind of its own


@pytest.mark.parametrize("model_type", ["cohere_compass_text", "cohere_compass"])
def test_rope_parameters_keyed_by_layer_type_left_empty_get_each_layer_type(model_type):
    """The model reads rope_parameters[layer_type] (KeyError 'full_attention' before); its rotary sections are
    those of each layer type, cut to the head width."""
    from transformers import CONFIG_MAPPING

    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    text = cfg.get_text_config()
    assert set(text.rope_parameters) == set(text.layer_types)
    for params in text.rope_parameters.values():
        assert params["rope_type"] == "default" and sum(params["mrope_section"]) == text.head_dim // 2


def test_a_pixel_decoder_width_equal_to_the_decoder_width_stays_equal():
    """OneFormer projects the pixel decoder's features (conv_dim) into the transformer decoder (hidden_dim) only
    when they differ, with convolutions held in a plain list (unsaved: outputs differed after reload)."""
    from transformers import OneFormerConfig

    cfg, _ = tiny_config(OneFormerConfig)
    assert cfg.conv_dim == cfg.mask_dim == cfg.hidden_dim <= 32


def test_a_plain_towers_wide_patch_grid_is_halved_with_every_image_size_of_the_tree():
    """SAM's 1024 px images in 16 px patches made 4096 tokens under global attention (forward took seconds); the
    image sizes of the tree (tower, prompt encoder) are halved together until the grid is at most max_side."""
    from transformers import SamConfig

    cfg, _ = tiny_config(SamConfig)
    max_side = shrink.rules()["image_grid"]["max_side"]
    vision, prompt = cfg.vision_config, cfg.prompt_encoder_config
    assert vision.image_size == prompt.image_size < 1024
    assert vision.image_size // vision.patch_size <= max_side
    assert prompt.image_embedding_size == prompt.image_size // prompt.patch_size  # derived, recomputed


def test_feature_map_sizes_follow_the_halved_image_size():
    from transformers import Sam3TrackerConfig

    cfg, _ = tiny_config(Sam3TrackerConfig)
    backbone = cfg.vision_config.backbone_config
    grid = backbone.image_size // backbone.patch_size
    assert cfg.vision_config.backbone_feature_sizes[-1] == [grid, grid]
    assert cfg.prompt_encoder_config.image_size == backbone.image_size


def test_a_staged_backbones_grid_is_not_a_sequence_and_keeps_its_image_size():
    """Swin's 56-patch stem grid is merged stage by stage in windows: its image size is kept."""
    cfg, _ = tiny_config(SwinConfig)
    assert cfg.image_size == SwinConfig().image_size


@pytest.mark.parametrize("model_type", ["xcodec2", "vibevoice_acoustic_tokenizer", "dac"])
def test_a_base_width_doubled_at_every_stage_is_cut_so_the_widest_stage_meets_the_cap(model_type):
    """xcodec2's encoder doubled 48 channels over 5 strided stages (1536: 15M parameters)."""
    from transformers import CONFIG_MAPPING

    rule = next(r for r in shrink.rules()["rule"] if r["kind"] == "stage_base")
    cfg, _ = tiny_config(CONFIG_MAPPING[model_type])
    for base, strides in rule["values"].items():
        if isinstance(getattr(cfg, strides, None), list) and hasattr(cfg, base):
            assert getattr(cfg, base) * 2 ** len(getattr(cfg, strides)) <= rule["max"]


def test_an_optional_towers_patch_embedder_and_position_table_are_shrunk():
    """gemma4_unified's vision tower (built by [optional_towers]) kept a 3840-wide patch embedder (35M params)."""
    from transformers import CONFIG_MAPPING

    vision = tiny_config(CONFIG_MAPPING["gemma4_unified"])[0].vision_config
    assert vision.mm_embed_dim <= 32 and vision.output_proj_dims <= 32 and vision.mm_posemb_size <= 512


@pytest.mark.parametrize(("model_type", "path", "most"), [
    ("recurrent_gemma", "lru_width", 32),  # the recurrent state width (2560: 7M parameters)
    ("esmfold2", "pairwise_hidden_size", 32),  # a folding trunk's pair width (18.8M)
    ("muse_spark_text", "moe_hidden_size", 64),  # an MoE expert width named apart (6.9M)
    ("gemma3n_text", "intermediate_size", 64),  # feed-forward widths per layer, a list (6.4M)
    ("apertus1p5_vision_tokenizer", "codebook_size", 4096),  # 131072 codes of a quantizer (4.2M)
    ("janus_vqgan", "num_embeddings", 4096),  # a VQ codebook under its other name (16384 codes)
])
def test_widths_named_apart_and_per_layer_widths_are_capped(model_type, path, most):
    from transformers import CONFIG_MAPPING

    value = getattr(tiny_config(CONFIG_MAPPING[model_type])[0], path)
    assert max(value if isinstance(value, list) else [value]) <= most


def test_a_towers_tiles_per_image_count_toward_its_grid():
    """Mllama's 448 px tiles in 14 px patches are a 32-patch grid, but 4 tiles per image made 4096 tokens
    (forward and save-load took 23 s): the tiles count, so its image size is halved."""
    from transformers import MllamaVisionConfig

    cfg = tiny_config(MllamaVisionConfig)[0]
    max_side = shrink.rules()["image_grid"]["max_side"]
    assert (cfg.image_size // cfg.patch_size) ** 2 * cfg.max_num_tiles <= max_side ** 2


@pytest.mark.parametrize(("model_type", "path", "most"), [
    ("fsmt", "src_vocab_size", 512),  # source and target tables named apart (42024 rows each: 4.1M)
    ("csm", "text_vocab_size", 512),  # a text table beside the audio codes (128256 rows)
    ("fastspeech2_conformer", "encoder_linear_units", 64),  # its conformer's feed-forward width
    ("fastspeech2_conformer", "pitch_predictor_channels", 32),  # a variance predictor's width
    ("cohere2_vision", "alignment_intermediate_size", 64),  # the alignment MLP (36864: 5.5M)
    ("univnet", "model_hidden_channels", 8),  # its square is predicted per layer (14.8M)
])
def test_vocabularies_and_widths_named_apart_are_capped(model_type, path, most):
    from transformers import CONFIG_MAPPING

    assert getattr(tiny_config(CONFIG_MAPPING[model_type])[0], path) <= most


def test_image_grid_cap_takes_image_sizes_of_configs_without_a_patch_size():
    """Sam3VideoConfig holds image sizes in configs that have no patch_size (its tracker, its prompt encoder):
    the grid cap must read those as whole pixels, not fail on the missing patch side."""
    from transformers import Sam3VideoConfig

    cfg, report = tiny_config(Sam3VideoConfig)
    assert cfg is not None and report.level == "tiny"


@pytest.mark.parametrize("name", ["RecurrentGemmaConfig", "JambaConfig"])
def test_a_derived_layer_pattern_keeps_every_kind(name):
    """Layer kinds a config derives from its depth (a cycle of block types; an attention period and offset) all
    stay in the cut stack: two layers of RecurrentGemma's (recurrent, recurrent, attention) or of Jamba's
    attention-every-8th-from-4 held no attention layer, and generate then failed on a cache of none."""
    import transformers

    cls = getattr(transformers, name)
    cfg, _ = tiny_config(cls)
    assert set(cfg.layers_block_type) == set(cls().layers_block_type)
    assert cfg.num_hidden_layers <= 5


def test_a_hybrid_stack_of_only_linear_layers_keeps_an_attention_layer_for_the_cache():
    import torch
    from transformers import BambaConfig, DynamicCache, GraniteMoeHybridConfig, GraniteMoeHybridForCausalLM, MambaConfig

    # a stored per-layer pattern (all Mamba layers by default): the last layer becomes an attention layer
    cfg, report = tiny_config(GraniteMoeHybridConfig)
    assert cfg.layer_types == ["linear_attention", "full_attention"]
    assert ("layer_types", ["linear_attention"] * 2, cfg.layer_types) in report.shrunk
    model = GraniteMoeHybridForCausalLM(cfg).eval()
    with torch.no_grad():  # its forward reads the sequence length from the cache's attention layer
        model(input_ids=torch.tensor([[1, 2, 3]]), use_cache=True)
    # a pattern derived from an unset layer-index list: the list names the last layer
    cfg, _ = tiny_config(BambaConfig)
    assert cfg.attn_layer_indices == [cfg.num_hidden_layers - 1]
    assert DynamicCache(config=cfg).get_seq_length() == 0
    # a pure state-space stack has no attention kind to take: unchanged
    cfg, _ = tiny_config(MambaConfig)
    assert set(cfg.layer_types) == {"linear_attention"}


def test_a_value_the_constructor_derived_is_derived_again_from_the_shrunk_values():
    """HrmTextConfig remembers its per-stack depth (num_layers_per_stack, None by default) from num_hidden_layers
    and rewrites num_hidden_layers to the cache slots of all cycles: the cut depth gives both anew."""
    import torch
    from transformers import HrmTextConfig, HrmTextForCausalLM

    default = HrmTextConfig()
    cfg, _ = tiny_config(HrmTextConfig)
    assert cfg.num_layers_per_stack == 2
    assert cfg.num_hidden_layers == 2 * default.num_hidden_layers // default.num_layers_per_stack
    model = HrmTextForCausalLM(cfg).eval()
    assert len(model.model.L_module.layers) == 2
    with torch.no_grad():  # the cache holds a slot per layer and cycle
        out = model.generate(input_ids=torch.tensor([[1, 2, 3]]), max_new_tokens=2, do_sample=False, pad_token_id=0)
    assert out.shape == (1, 5)


def test_every_vocabulary_of_a_tree_ends_the_same_size():
    """ClvpConfig's speech encoder (256 ids) embeds the argmax of its speech decoder (8194 ids): where the decoder's
    vocabulary is cut, the smaller ones rise to the cut size, so the decoder's ids stay inside the encoder's."""
    from transformers import ClvpConfig

    cfg, report = tiny_config(ClvpConfig)
    assert cfg.decoder_config.vocab_size == cfg.speech_config.vocab_size == cfg.text_config.vocab_size == 512
    assert ("speech_config.vocab_size", 256, 512) in report.shrunk
    cfg, _ = tiny_config(LlamaConfig(vocab_size=300))  # no vocabulary cut: a small one stays
    assert cfg.vocab_size == 300


def test_a_codebook_whose_codes_were_token_ids_stays_below_the_special_tokens():
    """GlmImage writes its VQ codes (16384) into the text ids (168064) below image_start_token_id (16384): the tiny
    codebook stays below the tiny vocabulary and the remapped special ids, a power of two as it was."""
    from transformers import GlmImageConfig

    cfg, _ = tiny_config(GlmImageConfig)
    vocab, codes = cfg.text_config.vocab_size, cfg.vq_config.num_embeddings
    specials = [cfg.image_token_id, cfg.image_start_token_id, cfg.image_end_token_id, cfg.text_config.pad_token_id]
    assert codes <= min(specials) < vocab and codes & (codes - 1) == 0


def test_a_value_the_validator_rejects_is_changed_to_one_it_accepts():
    """EsmFold2's atom encoder validates that its head holds the rotary pairs (3 x 2 spatial + 10 uid <= head_dim / 2):
    the cut head width (8) goes back to its original (32); the parent validates single_inputs_size = the atom
    encoder's output_dim + 2 x num_res_types + 1, so it moves by as much as output_dim was cut (451 - 352)."""
    from transformers import EsmFold2Config, GPTNeoConfig

    cfg, report = tiny_config(EsmFold2Config)
    assert cfg.atom_encoder.head_dim == 32 and cfg.atom_encoder.output_dim == 32
    assert cfg.single_inputs_size == cfg.atom_encoder.output_dim + 2 * cfg.num_res_types + 1
    assert ("single_inputs_size", 451, 99) in report.shrunk
    assert cfg.esmc_config.head_dim == 8  # a validator that accepts the cut value keeps it
    cfg, _ = tiny_config(GPTNeoConfig)  # only a restored depth would satisfy it: the depth stays cut
    assert cfg.num_layers == 3  # global, local, and global again (the first layer is a kind of its own)


def test_layer_kinds_that_combine_several_per_layer_sources_each_keep_a_layer():
    from transformers import AfmoeConfig, DeepseekV3Config, MllamaTextConfig

    def combos(cfg):  # (attention type, dense or sparse) of every layer
        return {(t, i < cfg.num_dense_layers) for i, t in enumerate(cfg.layer_types)}

    full = AfmoeConfig()
    tiny, _ = tiny_config(AfmoeConfig)
    assert combos(tiny) == combos(full) and len(combos(full)) == 3  # a dense sliding layer, sparse sliding, sparse full
    tiny, _ = tiny_config(DeepseekV3Config)  # the first 3 of 61 layers dense: one dense layer, then a sparse one
    assert 0 < tiny.first_k_dense_replace < tiny.num_hidden_layers
    tiny, _ = tiny_config(MllamaTextConfig)  # cross-attention layers at 8 of 40 indices: a self-attention layer stays
    assert 0 < len(tiny.cross_attention_layers) < tiny.num_hidden_layers


def test_a_sliding_window_is_shorter_than_the_test_input_and_longrope_factors_follow_the_head():
    from transformers import Phi3Config

    half = 3072 // 32 // 2
    cfg, _ = tiny_config(Phi3Config(sliding_window=2047, rope_scaling={
        "type": "longrope", "short_factor": [1.0] * half, "long_factor": [2.0] * half},
        original_max_position_embeddings=4096, max_position_embeddings=131072))
    assert cfg.sliding_window < 8
    rotary_half = cfg.head_dim // 2 if getattr(cfg, "head_dim", None) else cfg.hidden_size // cfg.num_attention_heads // 2
    assert len(cfg.rope_parameters["long_factor"]) == len(cfg.rope_parameters["short_factor"]) == rotary_half
