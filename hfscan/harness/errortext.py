"""Every regular expression hfscan applies to the text of an error raised by torch or transformers, in one table.

Reading an error's text is the last resort: a wording changes between releases and nothing checks it. Where the
same fact can be read from the error's traceback (the frame that raised it, its local variables, the ``if`` that
raised, the layer whose ``forward`` failed), :mod:`hfscan.harness.errorframe` reads it there instead. What is
left is here, each pattern with a name and the one line saying what it reads; tests/harness/test_errortext.py
feeds every one a message captured from a real model or a real torch op, and fails where a module of hfscan
applies a regular expression to error text outside this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorText:
    """One wording of an upstream error, and what hfscan reads from it."""

    name: str
    pattern: re.Pattern
    doc: str


def _table(*entries: tuple[str, str, str] | tuple[str, str, str, int]) -> dict[str, ErrorText]:
    return {name: ErrorText(name, re.compile(pattern, *flags), doc) for name, pattern, doc, *flags in entries}


#: name -> the wording and what it reads; the only regular expressions of hfscan over an upstream error's text.
PATTERNS: dict[str, ErrorText] = _table(
    ("size_mismatch",
     r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)\b",
     "an elementwise operation of two tensors whose sizes differ on one axis: (size of a, size of b, axis)"),
    ("axis_size", r"\(batch_size, (\d+),",
     "the size of the axis after the batch where a model spells the shape it wants out"),
    ("not_a_multiple", r"`?(\w+)`? length (\d+) is not a multiple of (\d+)",
     "an input whose last axis must be a multiple of a frame: (input, length, frame)"),
    ("mask_rows", r"shape of the mask \[(\d+), (\d+)\] at index 0 does not match the shape of the indexed tensor "
                  r"\[(\d+), (\d+)",
     "a (batch, rows) mask that selected rows of a flat tensor: (batch, width, rows)"),
    ("image_too_small", r"\b[Ii]mage size (\d+)x(\d+) is too small\b",
     "a model that names the image size it finds too small: (height, width)"),
    ("placeholder_check", r"(Image|Video|Audio)s? features and \w+ tokens do not match[:,] tokens: (\d+), "
                          r"features:? (\d+)",
     "a model's own placeholder check (4.50 words it '...: tokens: T, features F', 4.57 'Videos features ...'): (modality, tokens, features)"),
    ("must_be", r"\b(\w+) must be (-?\d+|True|False|None), got (\S+?)[,.]?(?:\s|$)",
     "a config validator that names the value a field must have: (field, value wanted, value got)"),
    ("must_equal", r"`?([A-Za-z_][\w.]*)`? \((\d+)\) must equal\b.*\((\d+)\)\.?\s*$",
     "a config validator that names the value a width must equal: (field path, value got, value wanted)", re.DOTALL),
)


def search(name: str, text: str) -> re.Match | None:
    """The first match of the pattern ``name`` of :data:`PATTERNS` in ``text``."""
    return PATTERNS[name].pattern.search(text)
