"""Facts read from where a real torch op or transformers call raised, not from its message."""

from __future__ import annotations

import pytest
import torch

from hfscan.harness import errorframe as F


def _raised(fn, *args, **kwargs) -> BaseException:
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return info.value


def test_the_layer_whose_forward_raised_and_the_tensor_it_was_given():
    exc = _raised(torch.nn.Linear(64, 32), torch.zeros(2, 30, 16))
    layer, given = F.layer_input(exc, torch.nn.Linear)
    assert layer.in_features == 64 and tuple(given.shape) == (2, 30, 16)
    assert F.layer_input(exc, torch.nn.Conv1d) is None
    assert F.layer_input(ValueError("mat1 and mat2 shapes cannot be multiplied"), torch.nn.Linear) is None


def test_the_backends_requires_backends_found_missing():
    from transformers.utils.import_utils import requires_backends

    assert F.failed_backends(_raised(requires_backends, object, ["torch", "natten"])) == ["natten"]
    assert F.failed_backends(ImportError("X requires the natten library")) == []


def _unpack(pixel_values):
    batch_size, num_images, num_channels, height, width = pixel_values.shape


def _not_a_shape(pair):
    a, b, c = pair


def test_a_shape_unpacked_into_more_names_than_axes():
    assert F.unpacked_axes(_raised(_unpack, torch.zeros(2, 3, 8, 8))) == (5, 4)
    assert F.unpacked_axes(_raised(_not_a_shape, (1, 2))) is None


def _join(a, b):
    return torch.cat([a, b], dim=1)


def _pool(x):
    return torch.nn.functional.avg_pool2d(x, (3, 2))


def test_the_operands_of_a_failing_cat_and_a_pooling_kernel_larger_than_its_input():
    assert F.joined_shapes(_raised(_join, torch.zeros(2, 4, 30), torch.zeros(2, 4, 12))) == (1, [(2, 4, 30),
                                                                                             (2, 4, 12)])
    assert F.pooled_sides(_raised(_pool, torch.zeros(2, 8, 2, 2))) == ((2, 2), (3, 2))
    assert F.joined_shapes(_raised(_pool, torch.zeros(2, 8, 2, 2))) is None


class _Sized:
    size = (16, 16)

    def check(self, height, width):
        if height != self.size[0] or width != self.size[1]:
            raise ValueError("wrong size")


def test_the_values_the_raising_if_compares():
    assert F.raising_comparisons(_raised(_Sized().check, 32, 16)) == [(32, 16), (16, 16)]
    assert F.raising_comparisons(_raised(_join, torch.zeros(2, 4, 3), torch.zeros(2, 5, 4))) == []
