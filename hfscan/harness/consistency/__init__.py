"""Consistency checks: the same tiny model asked the same question two ways must give the same answer.

Each module holds one registered check (``hfscan/data/checks.toml``): ``backward`` (a training step, with and
without gradient checkpointing), ``attention`` (every attention implementation against eager), ``batch`` (a padded
batch against its samples alone), ``cache`` (incremental decoding against one forward) and ``dtype`` (half
precision against float32). :mod:`.compare` says how far two outputs are apart and where; :mod:`.flags` sets what a
class declares next to what a check observed.
"""
