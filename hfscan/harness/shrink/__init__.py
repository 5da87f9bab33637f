"""Tiny configs: shrink every size-like value of a config tree by data-driven rules.

The rules (``hfscan/data/shrink_rules.toml``, validated and documented in :mod:`.ruleset`) are keyed by attribute
name and applied at every level of the config tree.  Only sizes change: values that define a variant
(grouped-query ratio, MoE shape, sliding window, activation, hybrid layer pattern) are kept.  The config is
rebuilt through its constructor so that derived fields are recomputed.  The passes run in the order of the
tables of :mod:`.passes`; the one setter they write through is :meth:`.state.State.set`.
"""

from hfscan.harness.configtree import config_tree, dotted as _dotted, is_config, text_config
from hfscan.harness.shrink.grids import _is_grid_text_class
from hfscan.harness.shrink.passes import CONFIG_PASSES, PASSES, tiny_config
from hfscan.harness.shrink.rebuild import (_documented_config, _instantiate, _take_wanted_value, _validator_defaults,
                                           apply_values, package_switches)
from hfscan.harness.shrink.ruleset import Level, levels, load_rules, rules
from hfscan.harness.shrink.state import ShrinkReport, State, _init_fields
from hfscan.harness.shrink.values import _code_default, _cut_pattern, _rescale_indices, _split_evenly

__all__ = [
    "CONFIG_PASSES", "PASSES", "Level", "ShrinkReport", "State", "apply_values", "config_tree", "is_config",
    "levels", "load_rules", "package_switches", "rules", "text_config", "tiny_config",
    "_code_default", "_cut_pattern", "_documented_config", "_dotted", "_init_fields", "_instantiate",
    "_is_grid_text_class", "_rescale_indices", "_split_evenly", "_take_wanted_value", "_validator_defaults",
]
