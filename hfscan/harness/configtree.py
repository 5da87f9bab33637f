"""One view of a config tree: its configs by path, its parts by modality, and the values every stage reads.

A config holds sub-configs (``text_config``, ``vision_config``, an encoder and a decoder, a backbone ...), as an
attribute or as the items of a list of them (named ``attr.i``: a config of several like stages, transformers
4.50's Jukebox priors).  :func:`walk` visits every config of a tree with its dotted path (``""`` for the root,
``"vision_config."`` below it): the shrinker, the config-value filler, the smoke test and ``hfscan check`` read
trees through it.

Special tokens: an attribute named ``*_token_id`` or ``*_token_index`` holds one token id, one named
``*_token_ids`` a list of them (:data:`TOKEN_ID_SUFFIXES`, :data:`TOKEN_SUFFIXES`); ``image_token_id`` and its
like are placeholders for a modality's features (:func:`is_placeholder_token`).

Widths, depths and vocabularies are the attributes the shrink rules name (``cap`` rules of 32 and above,
``layers`` and ``vocab`` rules of ``hfscan/data/shrink_rules.toml``).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

#: Attributes that hold one special token's id.
TOKEN_ID_SUFFIXES = ("_token_id", "_token_index")
#: Attributes that hold special-token ids: one id, or a list of them (``*_token_ids``).
TOKEN_SUFFIXES = (*TOKEN_ID_SUFFIXES, "_token_ids")
#: A modality's placeholder token in the text (``image_token_id``, ``video_token_index``, ``audio_token_id``).
_PLACEHOLDER = re.compile(r"^(image|video|audio)_token_(id|index)$")
#: The sub-configs that hold a modality's part of a composite config, by preference.
PARTS = {"text": ("text_config", "decoder", "language_config", "llm_config"),
         "vision": ("vision_config", "encoder", "backbone_config", "image_config", "visual"),
         "audio": ("audio_config", "encoder", "speech_config")}


def is_config(v: Any) -> bool:
    """Whether ``v`` is a transformers config."""
    from transformers import PretrainedConfig

    return isinstance(v, PretrainedConfig)


def sub_configs(cfg: Any) -> list[tuple[str, Any]]:
    """(name, config) for each sub-config a config holds: an attribute's, or an item of a list of them (named
    ``attr.i``)."""
    out = []
    for attr, value in vars(cfg).items():
        if is_config(value):
            out.append((attr, value))
        elif isinstance(value, (list, tuple)) and value and all(is_config(v) for v in value):
            out.extend((f"{attr}.{i}", v) for i, v in enumerate(value))
    return out


def walk(cfg: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, config) for a config and every sub-config below it, parents first."""
    yield path, cfg
    for name, sub in sub_configs(cfg):
        yield from walk(sub, f"{path}{name}.")


def config_tree(cfg: Any) -> list[tuple[str, Any]]:
    """(path, config) for a config and every sub-config below it."""
    return list(walk(cfg))


def text_config(config: Any) -> Any:
    """The config of the model's text decoder (the config itself where it has no other)."""
    return config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config


def sub(cfg: Any, attr: str) -> Any:
    """The sub-config a config holds under ``attr``; None where it holds none there."""
    value = vars(cfg).get(attr)
    return value if is_config(value) else None


def parts(cfg: Any, modality: str) -> list[Any]:
    """The sub-configs a config holds for one modality (``text``, ``vision``, ``audio``: :data:`PARTS`), by
    preference; [] where it holds none (or ``modality`` is none of them)."""
    return [c for c in (getattr(cfg, a, None) for a in PARTS.get(modality, ())) if is_config(c)]


def nearest_first(cfg: Any, modality: str = "any") -> Iterator[Any]:
    """Every config of a tree, each once: the modality's parts first (:func:`parts`), then the config itself and,
    breadth first, its sub-configs (held as attributes): where a value is looked up, the nearest wins."""
    queue, seen = [*parts(cfg, modality), cfg], []
    while queue:
        node = queue.pop(0)
        if any(node is s for s in seen):
            continue
        seen.append(node)
        yield node
        queue.extend(v for v in vars(node).values() if is_config(v))


def dotted(cfg: Any, name: str) -> Any:
    """The stored value of a dotted attribute path (``semantic_model_config.hidden_size``), a list item where a
    part ends in an index (``vision_config.out_channels[-1]``: the last stage's width); None where it is missing."""
    for piece in name.split("."):
        attr, _, index = piece.partition("[")
        cfg = vars(cfg).get(attr) if cfg is not None else None  # stored values only (no per-layer lookups)
        if index and isinstance(cfg, (list, tuple)):
            cfg = cfg[int(index.rstrip("]"))] if cfg else None
        elif index:
            cfg = None
    return cfg


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def special_tokens(cfg: Any) -> dict[str, Any]:
    """{attribute: value} of the special-token ids a config sets (one id, or a list of them; unset ones left
    out)."""
    return {a: v for a, v in vars(cfg).items() if a.endswith(TOKEN_SUFFIXES) and v is not None}


def is_placeholder_token(attr: str) -> bool:
    """Whether ``attr`` holds a modality's placeholder token id (the token an image, video or audio stands for)."""
    return bool(_PLACEHOLDER.match(attr))


def token_ids(tree: list[tuple[str, Any]]) -> set[int]:
    """Every special-token id the configs of a tree (:func:`config_tree`) hold, lists of ids included."""
    out = set()
    for _, node in tree:
        for value in special_tokens(node).values():
            items = value if isinstance(value, (list, tuple)) and value and all(_is_int(i) for i in value) else [value]
            out.update(i for i in items if _is_int(i))
    return out


def depth_attrs() -> tuple[str, ...]:
    """The attributes that hold a stack's depth (the ``layers`` rules)."""
    from hfscan.harness.shrink.ruleset import rule_attrs

    return rule_attrs("layers")


def width_attrs() -> frozenset[str]:
    """The attributes that hold a width (the ``cap`` rules of 32 and above)."""
    from hfscan.harness.shrink.ruleset import rules

    return frozenset(a for r in rules()["rule"] if r["kind"] == "cap" and r["max"] >= 32 for a in r["attrs"])


def vocab_attrs() -> tuple[str, ...]:
    """The attributes that hold a vocabulary size (the ``vocab`` rules)."""
    from hfscan.harness.shrink.ruleset import rule_attrs

    return rule_attrs("vocab")


def vocab_sizes(root: Any) -> list[int]:
    """The vocabulary sizes the configs of a tree hold."""
    names = frozenset(vocab_attrs())
    return [v for _, node in walk(root) for a, v in vars(node).items() if a in names and _is_int(v) and v > 0]
