"""Relations between config values and inputs: layout box widths split the hidden width; inputs an error asks for."""

from __future__ import annotations

import pytest
import torch
from transformers import LayoutLMv3Config, LayoutLMv3Model, LiltConfig, LiltModel

from hfscan.harness.inputs import build_inputs
from hfscan.harness.shrink import tiny_config
from hfscan.harness.smoke import templates


@pytest.mark.parametrize("config_class, model_class", [(LiltConfig, LiltModel), (LayoutLMv3Config, LayoutLMv3Model)])
def test_the_six_box_embeddings_fill_the_tiny_hidden_width(config_class, model_class):
    cfg, _ = tiny_config(config_class)
    assert cfg.hidden_size < config_class().hidden_size and cfg.hidden_size % 6 == 0
    if hasattr(cfg, "coordinate_size"):  # left/upper/right/lower + height/width widths sum to the hidden width
        assert 4 * cfg.coordinate_size + 2 * cfg.shape_size == cfg.hidden_size
    model = model_class(cfg).eval()
    inputs, _ = build_inputs(model, cfg, "base", templates()["default"])
    with torch.no_grad():
        out = model(**inputs)
    assert out.last_hidden_state.shape[-1] == cfg.hidden_size


def test_an_input_the_error_says_must_be_given_is_built_as_documented():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    job = Job(model_type="blip_2_qformer", model_class="Blip2QFormerModel", task="base", checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message  # "encoder_hidden_states must be given ..."
    assert forward.detail["inputs"]["encoder_hidden_states"][0] == 2


def test_images_take_the_size_the_patch_embedding_asks_for():
    from transformers import SegGptConfig

    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    job = Job(model_type="seggpt", model_class="SegGptModel", task="base", checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message  # "Input image size (2H*W) doesn't match model (H*W)"
    from hfscan.harness.shrink import tiny_config

    height, width = tiny_config(SegGptConfig)[0].image_size  # the tiny canvas (its image grid may be halved)
    for name in ("pixel_values", "prompt_pixel_values", "prompt_masks"):  # stacked: each half the canvas
        assert forward.detail["inputs"][name][-2:] == [height // 2, width]


def test_a_patch_grid_split_into_windows_is_a_multiple_of_the_windows_per_side():
    from transformers import RfDetrConfig

    default = RfDetrConfig().backbone_config
    assert (default.image_size // default.patch_size) % default.num_windows  # 518 // 14 = 37 patches, 4 windows
    cfg, _ = tiny_config(RfDetrConfig)
    backbone = cfg.backbone_config
    assert (backbone.image_size // backbone.patch_size) % backbone.num_windows == 0


def test_images_a_pooling_shrinks_to_nothing_grow():
    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    job = Job(model_type="pp_ocrv5_mobile_rec", model_class="PPOCRV5MobileRecModel", task="base",
              checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message  # "Calculated output size: (Cx0x1). Output size is too small"
    assert forward.detail["inputs"]["pixel_values"][-2] > 64


def test_a_tiling_models_tiles_shrink_with_its_towers_and_its_images_grow_to_hold_every_scale():
    from transformers import DepthProConfig

    from hfscan.harness.records import Job, Status
    from hfscan.harness.smoke import run_job

    original = DepthProConfig()
    cfg, _ = tiny_config(DepthProConfig)
    towers = (cfg.image_model_config, cfg.patch_model_config, cfg.fov_model_config)
    assert cfg.patch_size < original.patch_size and all(t.image_size == cfg.patch_size for t in towers)
    depth = cfg.image_model_config.num_hidden_layers  # hooks into the tower's cut stack, deepest first as before
    assert all(0 <= i < depth for i in cfg.intermediate_hook_ids) and cfg.intermediate_hook_ids[0] > cfg.intermediate_hook_ids[1]
    job = Job(model_type="depth_pro", model_class="DepthProForDepthEstimation", task="depth-estimation",
              checks=("build", "forward"))
    forward = {r.check: r for r in run_job(job)}["forward"]
    assert forward.status == Status.PASSED, forward.message  # "Image size 96x96 is too small to be scaled with ..."
    side = cfg.patch_size / min(cfg.scaled_images_ratios)  # the smallest scale still holds one tile
    assert forward.detail["inputs"]["pixel_values"][-2:] == [side, side]


def test_placeholders_marked_by_a_position_mask_cover_the_image_features():
    from transformers import Kosmos2Config, Kosmos2ForConditionalGeneration

    cfg, _ = tiny_config(Kosmos2Config)
    model = Kosmos2ForConditionalGeneration(cfg).eval()
    inputs, report = build_inputs(model, cfg, "image-text-to-text", templates()["default"])
    mask = inputs["image_embeds_position_mask"]
    assert mask.shape == inputs["input_ids"].shape
    assert (mask.sum(dim=1) == cfg.latent_query_num).all()  # one position per image feature of each sample
    with torch.no_grad():
        model(**inputs)
    assert set(report.fed) == {"text", "image"}
