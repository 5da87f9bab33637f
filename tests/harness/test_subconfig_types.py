"""Sub-config types built alone: what their composite parent would have given them is derived from its class."""

from __future__ import annotations


def test_a_text_config_built_alone_gets_the_rotary_sections_its_composite_would_give():
    """PaddleOCRTextConfig sets no mrope_section (the model code defaults [16, 24, 24], a split of the
    original half head width); its composite pairs it with a vision config that merges patch grids, so built
    alone it gets the sections rescaled to the tiny head, as it does inside the composite."""
    import torch
    from transformers import CONFIG_MAPPING, PaddleOCRTextConfig
    from transformers.models.paddleocr_vl.modeling_paddleocr_vl import PaddleOCRTextModel

    from hfscan.harness.shrink import _is_grid_text_class, tiny_config

    assert _is_grid_text_class(PaddleOCRTextConfig) and not _is_grid_text_class(CONFIG_MAPPING["llama"])
    cfg, _ = tiny_config(PaddleOCRTextConfig)
    sections = cfg.rope_parameters["mrope_section"]
    assert sum(sections) == cfg.head_dim // 2
    model = PaddleOCRTextModel(cfg).eval()
    with torch.no_grad():
        out = model(input_ids=torch.randint(0, cfg.vocab_size, (2, 8)))
    assert torch.isfinite(out.last_hidden_state).all()
