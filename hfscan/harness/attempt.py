"""The record of one attempt at a job: what one shrink level produced, shared by the smoke test and its repairs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Attempt:
    """What one shrink level produced: everything later checks need, or the error that stopped it."""

    level: str
    config: Any = None
    model: Any = None
    inputs: dict = field(default_factory=dict)
    output: Any = None
    report: Any = None
    input_report: Any = None
    stage: str = "config"
    error: BaseException | None = None
    tb: str | None = None
    durations: dict = field(default_factory=dict)
    param_count: int | None = None
    counts: dict = field(default_factory=dict)  # placeholder tokens per modality, as the model said
    framed: set = field(default_factory=set)  # modalities whose placeholders are image tokens in their frame
    entry: str = "forward"  # the method the model ran through (generate for a class with no forward())
    repairs: list = field(default_factory=list)  # the input repairs applied, in order (names in repairs.REPAIRS)
    raised: BaseException | None = None  # the forward() error the input repairs read (the latest)
    rng: Any = None  # the random number generators' state the output was computed from (save-load reruns it)
