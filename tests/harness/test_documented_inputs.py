"""Optional forward() arguments the docstring says have to be provided, rows documented per sample, and
dataclass inputs built from the fields their docstring documents."""

from __future__ import annotations

import dataclasses

import torch
from transformers import PretrainedConfig
from transformers.models.esmfold2.modeling_esmfold2 import EsmFold2AtomInputs

from hfscan.harness.inputs import BATCH, FREE_DIM, build_inputs, documented_required, documented_rows, to_device


class _Reader(torch.nn.Module):
    def forward(self, input_ids, context_input_ids=None, doc_scores=None, extra=None):
        """
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
                Tokens.
            context_input_ids (`torch.LongTensor` of shape `(batch_size * config.n_docs, config.max_combined_length)`, *optional*):
                Retrieved documents. Without a retriever `context_input_ids` has to be
                provided to the forward pass.
            doc_scores (`torch.Tensor` of shape `(batch_size, config.n_docs)`):
                Scores. If the model has no retriever `doc_scores` has to be provided to the forward pass.
            extra (`torch.Tensor` of shape `(batch_size, 3)`, *optional*):
                Optional and computed when left out.
        """
        return input_ids


def test_an_optional_argument_documented_as_required_is_built_with_its_rows_per_sample():
    config = PretrainedConfig(n_docs=3, max_combined_length=5, vocab_size=16)
    model = _Reader()
    assert documented_required(model, "context_input_ids") and documented_required(model, "doc_scores")
    assert not documented_required(model, "extra")
    values, report = build_inputs(model, config, "base", {}, with_labels=False)
    assert values["context_input_ids"].shape == (BATCH * 3, 5) and values["context_input_ids"].dtype == torch.long
    assert values["doc_scores"].shape == (BATCH, 3)
    assert "extra" not in values
    assert documented_rows(model, values) == BATCH * 3
    assert documented_rows(model, {"input_ids": values["input_ids"]}) is None


def test_a_retrieval_model_without_retriever_runs_on_the_documented_documents():
    from transformers import RagConfig, RagModel

    from hfscan.harness.shrink import tiny_config

    config, _ = tiny_config(RagConfig)
    model = RagModel(config).eval()
    values, report = build_inputs(model, config, "base", {}, with_labels=False)
    assert {"context_input_ids", "context_attention_mask", "doc_scores"} <= values.keys()
    with torch.no_grad():
        out = model(**values)
    assert out.logits.shape[0] == documented_rows(model, values) == BATCH * config.n_docs


class _Folder(torch.nn.Module):
    def forward(self, atom_inputs: EsmFold2AtomInputs):
        return atom_inputs.ref_pos


@dataclasses.dataclass
class _Undocumented:
    coords: torch.Tensor


class _Bare(torch.nn.Module):
    def forward(self, inputs: _Undocumented):
        return inputs.coords


def test_a_required_dataclass_input_is_built_field_by_field_as_its_docstring_documents_them():
    config = PretrainedConfig(max_atomic_number=16)
    values, report = build_inputs(_Folder(), config, "base", {}, with_labels=False)
    atoms = values["atom_inputs"]
    assert report.unknown_required == [] and isinstance(atoms, EsmFold2AtomInputs)
    assert atoms.ref_pos.shape == (BATCH, FREE_DIM, 3)  # "ref_pos: `(batch_size, num_atoms, 3)`"
    # documented one-hot (batch_size, num_atoms, max_atomic_number), but the model one-hot encodes it itself
    assert atoms.ref_element.shape == (BATCH, FREE_DIM) and atoms.ref_element.dtype is torch.long
    assert atoms.atom_attention_mask.shape == (BATCH, FREE_DIM) and bool(atoms.atom_attention_mask.all())
    moved = to_device(atoms, "cpu", torch.bfloat16)  # the bundle travels to the model's device and dtype
    assert isinstance(moved, EsmFold2AtomInputs) and moved.ref_pos.dtype is torch.bfloat16
    assert moved.atom_attention_mask.dtype is atoms.atom_attention_mask.dtype  # integer fields keep theirs
    _, report = build_inputs(_Bare(), config, "base", {}, with_labels=False)
    assert report.unknown_required == ["inputs"]  # a field no docstring shapes: no value


def test_categorical_inputs_are_the_ids_the_model_encodes_and_its_masks_the_booleans_it_passes_on():
    """EsmFold2Model one-hot encodes res_type, ref_element and ref_atom_name_chars itself (F.one_hot with a class count
    from its config), although the atom dataclass documents the encoded forms; atom_to_token is documented as an
    "index of the token", mol_type by its codes ("``0`` = protein"), and atom_attention_mask is passed on as a mask a
    function documents as bool (masked_fill with ~mask): built as such, the real model runs."""
    from transformers import EsmFold2Config, EsmFold2Model

    from hfscan.harness.shrink import tiny_config

    config, _ = tiny_config(EsmFold2Config)
    torch.manual_seed(0)
    model = EsmFold2Model(config).eval()
    values, report = build_inputs(model, config, "base", {}, with_labels=False)
    atoms = values["atom_inputs"]
    assert report.unknown_required == []
    assert values["res_type"].dtype is values["mol_type"].dtype is torch.long
    assert atoms.ref_atom_name_chars.shape == (BATCH, FREE_DIM, config.max_chars)  # the char vocabulary axis dropped
    assert atoms.atom_to_token.dtype is torch.long and atoms.atom_attention_mask.dtype is torch.bool
    assert values["token_bonds"].dtype.is_floating_point  # a documented float feature stays one
    with torch.no_grad():
        out = model(**values)
    assert out.pair_states.shape[:3] == (*values["res_type"].shape, values["res_type"].shape[1])
    assert bool(torch.isfinite(out.distogram_logits).all())
