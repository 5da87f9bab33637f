"""Assertions on what a tiny model returns: forward outputs, save-load equality, generate length.

Each check raises :class:`CheckFailure` (an AssertionError with the stage it
failed in) when the model's outputs are wrong; nothing here catches errors.
"""

from __future__ import annotations

from typing import Any


class CheckFailure(AssertionError):
    """An assertion on a model's outputs failed."""

    def __init__(self, message: str, stage: str = "assert"):
        super().__init__(message)
        self.stage = stage


def tensors_of(output: Any, prefix: str = "") -> dict[str, Any]:
    """Every tensor of a model output (ModelOutput, tuple, dict, nested), by dotted name."""
    import torch

    if isinstance(output, torch.Tensor):
        return {prefix or "output": output}
    items: Any
    if isinstance(output, dict):  # ModelOutput is an OrderedDict of its non-None fields
        items = output.items()
    elif isinstance(output, (list, tuple)):
        items = ((str(i), v) for i, v in enumerate(output))
    else:
        return {}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(tensors_of(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def shapes_of(output: Any, limit: int = 24) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in list(tensors_of(output).items())[:limit]}


def check_finite(output: Any) -> None:
    """Every floating-point output is finite: no NaN, no +inf, and finite values in every tensor.

    -inf is allowed: it is how a model masks logits (padded text positions, excluded classes).
    """
    import torch

    tensors = tensors_of(output)
    if not tensors:
        raise CheckFailure("the model returned no tensor")
    for name, t in tensors.items():
        if t.is_floating_point() or t.is_complex():
            real = torch.view_as_real(t) if t.is_complex() else t
            masked = real == float("-inf")
            if not bool((torch.isfinite(real) | masked).all()) or (t.numel() and bool(masked.all())):
                raise CheckFailure(f"output {name} {list(t.shape)} is not finite (NaN or inf)")


def main_output(output: Any) -> tuple[str, Any]:
    """The output that the model's head produces: logits if any, else the first tensor."""
    tensors = tensors_of(output)
    for name in ("logits", "last_hidden_state", "audio_values", "waveform", "spectrogram"):
        if name in tensors:
            return name, tensors[name]
    name = next(iter(tensors))
    return name, tensors[name]


def check_forward(output: Any, *, batch: int, vocab: int | None = None, num_labels: int | None = None,
                  loss_expected: bool = False) -> None:
    """Outputs finite; logits sized by the vocabulary or label count; a loss when labels were given."""
    check_finite(output)
    tensors = tensors_of(output)
    if vocab is not None:
        logits = tensors.get("logits")
        if logits is None:
            raise CheckFailure("expected `logits` in the output")
        if logits.shape[-1] != vocab:
            raise CheckFailure(f"logits' last dimension is {logits.shape[-1]}, the vocabulary is {vocab}")
    if num_labels is not None:
        # a head that returns its class scores under another name (its only output) is read alike
        logits = tensors.get("logits", next(iter(tensors.values())) if len(tensors) == 1 else None)
        if logits is None:
            raise CheckFailure("expected `logits` in the output")
        if tuple(logits.shape) != (batch, num_labels):
            raise CheckFailure(f"logits have shape {list(logits.shape)}, expected [{batch}, {num_labels}]")
    if loss_expected:
        loss = tensors.get("loss")
        if loss is None:
            raise CheckFailure("labels were given but the output has no `loss`")
    name, main = main_output(output)
    # only a head's logits must keep the batch axis: vision towers may pack all images into one sequence
    if name == "logits" and main.shape[0] != batch:
        raise CheckFailure(f"{name} has batch dimension {main.shape[0]}, the input had {batch}")


def check_same(before: Any, after: Any, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """The reloaded model gives the same outputs as the saved one."""
    import torch

    a, b = tensors_of(before), tensors_of(after)
    if a.keys() != b.keys():
        raise CheckFailure(f"outputs differ after reload: {sorted(a.keys() ^ b.keys())}", stage="load")
    for name, t in a.items():
        u = b[name]
        if t.shape != u.shape:
            raise CheckFailure(f"output {name} has shape {list(u.shape)} after reload, {list(t.shape)} before", "load")
        if t.is_floating_point():
            if not torch.allclose(t, u, atol=atol, rtol=rtol, equal_nan=True):
                diff = (t - u).abs().max().item()
                raise CheckFailure(f"output {name} differs after reload (max abs diff {diff:.3g})", stage="load")
        elif not torch.equal(t, u):
            raise CheckFailure(f"output {name} differs after reload", stage="load")


def check_generated(shorter: Any, longer: Any, batch: int, step: tuple[int, ...] = (), unit: int = 1) -> None:
    """Greedy generate asked for ``unit`` more new tokens returns the same sequences grown by exactly ``unit`` tokens
    (one for a model that decodes token by token, a whole block for one that decodes blocks); each token laid out as
    the ids the model takes (``step``: its trailing per-token axes, such as one id per codebook)."""
    import torch

    for seq in (shorter, longer):
        if seq.dim() != 2 + len(step) or seq.shape[0] != batch or tuple(seq.shape[2:]) != tuple(step):
            expected = ", ".join([str(batch), "...", *map(str, step)])
            raise CheckFailure(f"generate returned shape {list(seq.shape)}, expected [{expected}]", "generate")
    grown = longer.shape[1] - shorter.shape[1]
    if grown != unit:
        raise CheckFailure(f"{unit} more new token(s) grew the output by {grown} tokens", "generate")
    if not torch.equal(longer[:, : shorter.shape[1]], shorter):
        raise CheckFailure("greedy generate is not a prefix of itself with more new tokens", "generate")
