"""The assertions fail when a real tiny model's outputs are wrong."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel

from hfscan.harness import checks as C
from hfscan.harness.shrink import tiny_config


@pytest.fixture(scope="module")
def gpt2():
    cfg, _ = tiny_config(GPT2Config)
    torch.manual_seed(0)
    return GPT2LMHeadModel(cfg).eval()


def _ids(model, batch=2, seq=5):
    return torch.randint(0, model.config.vocab_size, (batch, seq))


def test_good_outputs_pass(gpt2):
    ids = _ids(gpt2)
    with torch.no_grad():
        out = gpt2(input_ids=ids, labels=ids)
    C.check_forward(out, batch=2, vocab=gpt2.config.vocab_size, loss_expected=True)
    assert C.shapes_of(out)["logits"] == [2, 5, gpt2.config.vocab_size]


def test_nan_output_fails_forward(gpt2):
    broken = GPT2LMHeadModel(gpt2.config).eval()
    broken.load_state_dict(gpt2.state_dict())
    with torch.no_grad():
        broken.transformer.ln_f.weight.fill_(float("nan"))
        out = broken(input_ids=_ids(gpt2))
    with pytest.raises(C.CheckFailure, match="not finite"):
        C.check_forward(out, batch=2, vocab=gpt2.config.vocab_size)


def test_masked_logits_may_be_minus_inf_but_not_nan_or_plus_inf():
    logits = torch.zeros(2, 3, 4)
    logits[..., 2:] = float("-inf")  # masked positions, as contrastive heads pad their text axis
    C.check_finite({"logits": logits})
    for bad in (float("nan"), float("inf")):
        broken = logits.clone()
        broken[0, 0, 0] = bad
        with pytest.raises(C.CheckFailure, match="not finite"):
            C.check_finite({"logits": broken})
    with pytest.raises(C.CheckFailure, match="not finite"):
        C.check_finite({"logits": torch.full((2, 3), float("-inf"))})


def test_wrong_vocabulary_or_labels_fail(gpt2):
    with torch.no_grad():
        out = gpt2(input_ids=_ids(gpt2))
    with pytest.raises(C.CheckFailure, match="last dimension"):
        C.check_forward(out, batch=2, vocab=gpt2.config.vocab_size + 1)
    with pytest.raises(C.CheckFailure, match="no `loss`"):
        C.check_forward(out, batch=2, loss_expected=True)
    cfg, _ = tiny_config(BertConfig)
    bert = BertForSequenceClassification(cfg).eval()
    with torch.no_grad():
        cls_out = bert(input_ids=torch.randint(0, cfg.vocab_size, (2, 4)))
    C.check_forward(cls_out, batch=2, num_labels=cfg.num_labels)
    with pytest.raises(C.CheckFailure, match="expected \\[2, 3\\]"):
        C.check_forward(cls_out, batch=2, num_labels=3)


def test_class_scores_under_another_name_are_checked_as_logits():
    C.check_forward({"last_hidden_state": torch.zeros(2, 5)}, batch=2, num_labels=5)  # the head's only output
    with pytest.raises(C.CheckFailure, match="expected \\[2, 3\\]"):
        C.check_forward({"last_hidden_state": torch.zeros(2, 5)}, batch=2, num_labels=3)
    with pytest.raises(C.CheckFailure, match="expected `logits`"):
        C.check_forward({"last_hidden_state": torch.zeros(2, 5), "pooler_output": torch.zeros(2, 5)}, batch=2,
                        num_labels=5)


def test_changed_weights_fail_save_load(gpt2, tmp_path):
    ids = _ids(gpt2)
    gpt2.save_pretrained(tmp_path)
    reloaded = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        before, after = gpt2(input_ids=ids), reloaded(input_ids=ids)
        C.check_same(before, after)
        reloaded.lm_head.weight.add_(torch.randn_like(reloaded.lm_head.weight) * 0.1)
        changed = reloaded(input_ids=ids)
    with pytest.raises(C.CheckFailure, match="differs after reload") as info:
        C.check_same(before, changed)
    assert info.value.stage == "load"


def test_generate_growth_is_checked(gpt2):
    ids = _ids(gpt2)
    with torch.no_grad():
        one = gpt2.generate(input_ids=ids, max_new_tokens=1, min_new_tokens=1, do_sample=False, pad_token_id=0)
        two = gpt2.generate(input_ids=ids, max_new_tokens=2, min_new_tokens=2, do_sample=False, pad_token_id=0)
    assert two.shape[1] == ids.shape[1] + 2
    C.check_generated(one, two, batch=2)
    with pytest.raises(C.CheckFailure, match="grew the output by 0"):
        C.check_generated(two, two, batch=2)
    with pytest.raises(C.CheckFailure, match="not a prefix"):
        C.check_generated(one, torch.cat([one.flip(0), two[:, -1:]], dim=1), batch=2)


def test_generate_growth_follows_the_token_layout_and_the_generation_unit(gpt2):
    ids = _ids(gpt2)
    with torch.no_grad():
        one = gpt2.generate(input_ids=ids, max_new_tokens=1, min_new_tokens=1, do_sample=False, pad_token_id=0)
        three = gpt2.generate(input_ids=ids, max_new_tokens=3, min_new_tokens=3, do_sample=False, pad_token_id=0)
    # one id per codebook: a (batch, length, codebooks) layout, grown along the length
    frames = lambda seq: torch.stack([seq, seq + 1], dim=-1)  # noqa: E731
    C.check_generated(frames(one), frames(three[:, :-1]), batch=2, step=(2,))
    with pytest.raises(C.CheckFailure, match=r"expected \[2, \.\.\., 3\]"):
        C.check_generated(frames(one), frames(three[:, :-1]), batch=2, step=(3,))
    with pytest.raises(C.CheckFailure, match=r"expected \[2, \.\.\.\]"):
        C.check_generated(frames(one), frames(three[:, :-1]), batch=2)
    # a decoder that makes a block of two tokens per step grows by the block
    C.check_generated(one, three, batch=2, unit=2)
    with pytest.raises(C.CheckFailure, match="grew the output by 1"):
        C.check_generated(one, three[:, :-1], batch=2, unit=2)


def test_the_generation_unit_is_one_token_unless_the_generation_config_declares_no_mode():
    from types import SimpleNamespace

    from transformers import GenerationConfig
    from transformers.models.diffusion_gemma.generation_diffusion_gemma import DiffusionGemmaGenerationConfig

    from hfscan.harness.smoke import _generation_unit

    prompt, first = torch.zeros(2, 5), torch.zeros(2, 9)
    assert _generation_unit(SimpleNamespace(generation_config=GenerationConfig()), first, prompt) == 1
    block = SimpleNamespace(generation_config=DiffusionGemmaGenerationConfig())  # block diffusion: whole canvases
    assert _generation_unit(block, first, prompt) == 4
