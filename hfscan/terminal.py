"""The one way hfscan prints to a terminal: rich, with markup, emoji codes and highlighting off.

Text from models, configs, errors and the store can hold anything (``[/x]``,
``[batch, seq_len]``, ``:warning:``), so no printed string is ever parsed as
rich markup: every console comes from :func:`console`, and the little styling
hfscan does is applied to :class:`rich.text.Text` pieces (:func:`styled`),
never written as markup around data.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text


def console(**options: Any) -> Console:
    """A rich console that prints every string literally (tables and progress descriptions included)."""
    return Console(markup=False, emoji=False, highlight=False, **options)


def styled(*parts: str | tuple[str, str]) -> Text:
    """One line from plain strings and ``(text, style)`` pairs; no part is parsed as markup."""
    return Text.assemble(*((p if isinstance(p, tuple) else (str(p), "")) for p in parts))
