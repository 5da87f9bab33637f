"""The split of a sweep into shards: the shard spec and environment, costs, and the balanced, deterministic split."""

from __future__ import annotations

import random

import pytest

from hfscan.errors import UsageError
from hfscan.harness.records import CheckResult, Status
from hfscan.harness.shard import ShardSpec, measured_durations, parse_shard, split, type_costs


@pytest.mark.parametrize("text, env, expected", [
    ("2/4", {}, ShardSpec(2, 4)),
    (" 1 / 1 ", {}, ShardSpec(1, 1)),
    ("auto/4", {"JOB_COMPLETION_INDEX": "0"}, ShardSpec(1, 4)),
    ("auto/4", {"JOB_COMPLETION_INDEX": "3"}, ShardSpec(4, 4)),
    ("auto", {"JOB_COMPLETION_INDEX": "2", "HFSCAN_SHARD_COUNT": "3"}, ShardSpec(3, 3)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "8"}, ShardSpec(1, 8)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "8"}, ShardSpec(1, 8)),
    ("auto", {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "8"}, ShardSpec(8, 8)),
])
def test_shard_spec_from_the_flag_and_the_environment(text, env, expected):
    assert parse_shard(text, env) == expected


@pytest.mark.parametrize("text, env, message", [
    ("3", {}, "expected K/N"),
    ("0/4", {}, "between 1 and the count"),
    ("5/4", {}, "between 1 and the count"),
    ("1/0", {}, "between 1 and the count"),
    ("two/4", {}, "expected K/N"),
    ("auto/4", {}, "no shard index in the environment"),
    ("auto", {"JOB_COMPLETION_INDEX": "1"}, "no shard count"),
    ("auto/4", {"JOB_COMPLETION_INDEX": "x"}, "is not a number"),
    ("auto/4", {"JOB_COMPLETION_INDEX": "4"}, "between 1 and the count"),
])
def test_a_bad_shard_spec_is_one_usage_error(text, env, message):
    with pytest.raises(UsageError, match=message):
        parse_shard(text, env)


def test_measured_durations_sum_a_types_checks_and_skip_interrupted_ones():
    results = [
        CheckResult("bert", "build", Status.PASSED, duration_s=1.0),
        CheckResult("bert", "forward", Status.FAILED, duration_s=0.5),
        CheckResult("gpt2", "build", Status.INTERRUPTED, duration_s=0.0),
        CheckResult("t5", "build", Status.PASSED, duration_s=2.0),
        CheckResult("t5", "forward", Status.INTERRUPTED, duration_s=0.0),
    ]
    assert measured_durations(results) == {"bert": 1.5, "t5": 2.0}


def test_a_type_never_run_costs_its_familys_median():
    measured = {"a": 1.0, "b": 3.0, "c": 10.0, "x": 100.0}
    families = {"a": "f", "b": "f", "c": "f", "x": "g", "new_f": "f", "new_h": "h", "new_none": None}
    costs = type_costs(["a", "new_f", "new_h", "new_none", "x"], measured, families)
    assert costs["a"] == (1.0, False)
    assert costs["new_f"] == (3.0, True)  # median of a, b, c
    assert costs["new_h"] == costs["new_none"] == (6.5, True)  # no measured peer: the median of every measured type
    assert type_costs(["a"], {}, families)["a"] == (1.0, True)  # nothing measured at all


def _costs(n: int, seed: int = 0) -> dict[str, tuple[float, bool]]:
    rng = random.Random(seed)
    return {f"type{i:03d}": (round(rng.lognormvariate(0, 1), 3), False) for i in range(n)}


def test_the_split_is_identical_whatever_order_the_types_come_in():
    costs = _costs(300)
    items = list(costs.items())
    random.Random(1).shuffle(items)
    a, b = split(costs, 4), split(dict(items), 4)
    assert a == b and a.digest() == b.digest()
    assert sorted(mt for s in a.shards for mt in s) == sorted(costs)  # every type in exactly one shard


def test_equal_costs_still_split_deterministically_and_evenly():
    costs = {f"t{i}": (1.0, True) for i in range(10)}
    s = split(costs, 3)
    assert [len(x) for x in s.shards] == [4, 3, 3] and s == split(costs, 3)
    assert s.estimated == frozenset(costs)


@pytest.mark.parametrize("n", [4, 8])
def test_longest_first_balances_a_skewed_sweep(n):
    s = split(_costs(800), n)
    assert s.imbalance <= 1.05
    assert sum(s.loads) == pytest.approx(sum(c for c, _ in _costs(800).values()), abs=0.01)


def test_more_shards_than_types_leaves_some_empty():
    s = split({"a": (2.0, False), "b": (1.0, False)}, 3)
    assert s.shards == (("a",), ("b",), ()) and s.of(ShardSpec(3, 3)) == ()
