"""What a model class declares it supports, set next to what a check observed; a disagreement is a finding.

A check's details carry ``declared`` ({flag: value}) and ``mismatches``: one entry per flag whose declaration the
observation contradicts, ``{"flag", "declared", "observed", "text"}``. ``hfscan gaps`` and the reports group them by
flag and observation.
"""

from __future__ import annotations

from typing import Any

#: The class attributes transformers reads to decide what a model supports.
FLAGS = ("_supports_sdpa", "_supports_flex_attn", "_supports_flash_attn", "supports_gradient_checkpointing",
         "_can_compile_fullgraph", "_supports_attention_backend")

#: The attention implementation each flag declares.
ATTENTION_FLAGS = {"sdpa": "_supports_sdpa", "flex_attention": "_supports_flex_attn",
                   "flash_attention_2": "_supports_flash_attn", "flash_attention_3": "_supports_flash_attn"}


def declared(model: Any) -> dict[str, Any]:
    """{flag: the class's value} of the flags it has."""
    cls = type(model)
    return {f: _plain(getattr(cls, f)) for f in FLAGS if hasattr(cls, f)}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (bool, int, float, str, type(None))) else str(value)


def mismatch(flag: str, declared_value: Any, observed: str, text: str) -> dict:
    """One finding: the class declares ``flag`` as ``declared_value`` but a check observed ``observed``."""
    return {"flag": flag, "declared": declared_value, "observed": observed, "text": text}
