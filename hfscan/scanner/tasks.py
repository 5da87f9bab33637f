"""Task names, derived from the names of transformers' auto mappings.

A mapping ``MODEL_FOR_<X>_MAPPING_NAMES`` becomes the task ``x`` in kebab case;
``MODEL_MAPPING_NAMES`` is the task ``base``.  ``TASK_RENAMES`` only makes a few
derived names read better; a mapping that a future transformers adds still shows
up, under its derived name, with no change here.
"""

from __future__ import annotations

import re

_MAPPING_RE = re.compile(r"^MODEL_(?:FOR_)?(?P<task>.*?)_?MAPPING_NAMES$")

# Derived name -> preferred name.  Data, not logic: unknown names pass through.
TASK_RENAMES = {
    "": "base",
    "seq-to-seq-causal-lm": "seq2seq-lm",
    "speech-seq-2-seq": "speech-seq2seq",
    "with-lm-head": "lm-head",
}


def task_from_mapping_name(name: str) -> str | None:
    """``MODEL_FOR_CAUSAL_LM_MAPPING_NAMES`` -> ``causal-lm``; None if not a model mapping."""
    m = _MAPPING_RE.match(name)
    if not m:
        return None
    derived = m.group("task").lower().replace("_", "-")
    return TASK_RENAMES.get(derived, derived)
