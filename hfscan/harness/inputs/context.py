"""What every input builder reads: the shared sizes, the :class:`Context` of one model, and the builder table.

Each builder is keyed by a ``forward()`` argument name (like optimum's dummy input generators) and registered in
:data:`BUILDERS` by :func:`builder`; the modules of this package register theirs when imported."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from hfscan.harness import configtree


BATCH = 2
SEQ = 8
AUDIO_SAMPLES = 8000
AUDIO_FRAMES = 64
TIME_STEPS = 16

#: forward() argument -> modality it feeds.
MODALITY_OF = {
    "input_ids": "text",
    "pixel_values": "image",
    "input_values": "audio",
    "input_features": "audio",
    "audio_values": "audio",
    "input_audio_features": "audio",
    "audio_mel": "audio",
    "pixel_values_videos": "video",
    "flattened_patches": "image",
    "past_values": "time-series",
}


def _is_int(v: Any) -> bool:
    """Whether ``v`` is an int (a bool is not)."""
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass
class Context:
    """What builders may read: the model, its config (normalised views) and the task."""

    model: Any
    config: Any
    task: str
    torch: Any
    built: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)  # forward()'s parameters
    counts: dict = field(default_factory=dict)  # modality -> placeholder tokens in all, where already known
    framed: set = field(default_factory=set)  # modalities whose placeholders are image tokens in their frame
    given: set = field(default_factory=set)  # inputs given as values (an override's, a repair's), not built

    def find(self, *names: str, default: Any = None, where: str = "any") -> Any:
        """The first attribute of ``names`` set on the config or (breadth first) a sub-config, the ``where``
        modality's parts first (:func:`configtree.nearest_first`)."""
        for cfg in configtree.nearest_first(self.config, where):
            for name in names:
                value = getattr(cfg, name, None)
                if value is not None and not callable(value):
                    return value
        return default

    @property
    def vocab(self) -> int:
        """Ids valid both as input and as a label: the input table's size, capped by a narrower output head
        (an input table may hold extra rows, e.g. prompt embeddings, that the head does not predict)."""
        emb = _input_embeddings(self.model)
        if emb is not None and hasattr(emb, "num_embeddings"):
            head = _output_embeddings(self.model)
            return min(int(emb.num_embeddings), int(getattr(head, "out_features", None) or emb.num_embeddings))
        return int(self.find("vocab_size", default=64, where="text"))

    def special_ids(self) -> set[int]:
        """Every special-token id the config tree holds (:func:`configtree.token_ids`)."""
        return configtree.token_ids(configtree.config_tree(self.config))

    def tokens(self, *shape: int):
        """Random token ids inside the vocabulary that are never a special token."""
        torch = self.torch
        vocab = self.vocab
        special = self.special_ids()  # once: it walks the whole config tree
        allowed = [i for i in range(min(vocab, 4096)) if i not in special] or [0]
        idx = torch.randint(0, len(allowed), shape)
        return torch.tensor(allowed)[idx]


def to_device(value: Any, device: Any, dtype: Any) -> Any:
    """``value`` with every tensor in it (inside lists, tuples, dicts and dataclass inputs too) on ``device``,
    floating ones cast to ``dtype``; anything else unchanged."""
    import torch

    if isinstance(value, torch.Tensor):
        value = value.to(device)
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: to_device(v, device, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(to_device(v, device, dtype) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # e.g. a featurizer's bundled tensors
        return dataclasses.replace(value, **{f.name: to_device(getattr(value, f.name), device, dtype)
                                             for f in dataclasses.fields(value) if f.init})
    return value


def _model_placement(model: Any) -> tuple[Any, Any]:
    """The device and floating dtype of a model's parameters (CPU and float32 for one without any)."""
    import torch

    params = [p for p in model.parameters() if p.is_floating_point()]
    return (params[0].device, params[0].dtype) if params else (torch.device("cpu"), torch.float32)


def _input_embeddings(model: Any) -> Any:
    try:
        return model.get_input_embeddings()
    except (NotImplementedError, AttributeError, TypeError):
        return None


def _output_embeddings(model: Any) -> Any:
    try:
        return model.get_output_embeddings()
    except (NotImplementedError, AttributeError, TypeError):
        return None


def _size2(value: Any, default: int) -> tuple[int, int]:
    if isinstance(value, (list, tuple)) and value:
        return (int(value[-2]), int(value[-1])) if len(value) >= 2 else (int(value[0]), int(value[0]))
    if isinstance(value, dict):
        h = value.get("height") or value.get("shortest_edge") or default
        return int(h), int(value.get("width") or h)
    return (int(value), int(value)) if isinstance(value, int) else (default, default)


Builder = Callable[[Context], Any]
BUILDERS: dict[str, Builder] = {}


def builder(*names: str) -> Callable[[Builder], Builder]:
    """Register a builder for the forward() arguments ``names``."""

    def register(fn: Builder) -> Builder:
        for name in names:
            BUILDERS[name] = fn
        return fn

    return register


def _as_tensor(torch: Any, value: Any) -> Any:
    if isinstance(value, (list, int, float)) and not isinstance(value, bool):
        return torch.tensor(value)
    return value
