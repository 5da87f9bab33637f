"""forward() parameters read from transformers' source equal those of the imported classes."""

from __future__ import annotations

import pytest

from hfscan.classifiers.facts import forward_inputs, input_class
from hfscan.scanner import signatures


@pytest.mark.slow
def test_source_parameters_equal_importing_for_every_model_type(inventory):
    classes = sorted({c for r in inventory if (c := input_class(r))})
    settled = {c: signatures.forward_params(c) for c in classes}
    for cls, params in settled.items():
        if params is not None:
            assert forward_inputs(cls, from_source=False) == (params, None), cls
    unsettled = [c for c, p in settled.items() if p is None]
    assert len(unsettled) <= 0.03 * len(classes), unsettled  # imported instead: a few, not the inventory


def test_a_class_transformers_does_not_export_is_left_to_importing():
    assert signatures.forward_params("NoSuchModelAnywhere") is None
    params, error = forward_inputs("NoSuchModelAnywhere")
    assert params == () and error.startswith("AttributeError")


def test_an_inherited_forward_is_read_from_the_base_class():
    """A class body without its own forward: the parameters come from its base, as inspect finds them."""
    text = "class Base(PreTrainedModel):\n    def forward(self, input_ids, *, pixel_values=None, **kw):\n        pass\n\n" \
           "class Child(Base):\n    '''doc\nat column 0\n'''\n    def other(self, x):\n        pass\n"
    bases, body = signatures._class_body(text, "Child")
    assert bases == ["Base"] and signatures._forward_header(body) is None
    bases, body = signatures._class_body(text, "Base")
    assert signatures._params(signatures._forward_header(body)) == ("input_ids", "pixel_values")


def test_a_chain_that_ends_at_torch_module_has_its_forward_parameters(tmp_path, monkeypatch):
    """A class with no forward down to ``nn.Module`` has nn.Module's (none named); an ``nn`` that is not torch's
    (no import binds it) is left to importing."""
    torch_text = "import torch.nn as nn\n\nclass Base(nn.Module):\n    x = 1\n\nclass Child(Base):\n    y = 2\n"
    other_text = "class Base(nn.Module):\n    x = 1\n\nclass Child(Base):\n    y = 2\n"
    for name, text in (("mod_torch", torch_text), ("mod_other", other_text)):
        (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.setattr(signatures, "_source_path", lambda module: str(tmp_path / f"{module.split('.')[-1]}.py"))
    signatures._text.cache_clear()
    try:
        assert signatures._source_forward("transformers.mod_torch", "Child") == ()
        assert signatures._source_forward("transformers.mod_other", "Child") is None
    finally:
        signatures._text.cache_clear()
