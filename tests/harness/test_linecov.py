"""`hfscan run --coverage`: the share of a type's modeling-code lines its checks ran, measured by coverage.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hfscan.harness.linecov import runtime_lines
from hfscan.reports.linecov import share


def test_runtime_lines_are_the_statements_inside_functions(tmp_path):
    src = tmp_path / "modeling_x.py"
    src.write_text("import os\n\nclass A:\n    x = 1\n\n    def f(self):\n        y = 2\n        return y\n\n"
                   "def g():\n    return 3\n")
    assert runtime_lines(str(src)) == frozenset({7, 8, 11})


def test_modeling_files_are_the_class_module_and_the_package_modules_it_imports():
    from transformers import Data2VecTextModel, EsmForProteinFolding, RTDetrResNetBackbone

    from hfscan.harness.linecov import modeling_files

    def names(cls):
        return [Path(p).name for p in modeling_files(cls)]

    assert names(Data2VecTextModel) == ["modeling_data2vec_text.py"]  # not the audio and vision types' modules
    assert names(RTDetrResNetBackbone) == ["modeling_rt_detr_resnet.py"]
    assert names(EsmForProteinFolding) == ["modeling_esm.py", "modeling_esmfold.py"]  # esmfold imports esm's


def test_share_is_the_union_of_the_jobs_lines():
    a = {"files": {"m/modeling_m.py": {"lines": 10, "run": [1, 2, 3]}}}
    b = {"files": {"m/modeling_m.py": {"lines": 10, "run": [3, 4]}}}
    assert share([a]) == 0.3 and share([a, b]) == 0.4
    assert share([]) is None


@pytest.mark.slow
def test_a_job_that_runs_more_of_the_model_covers_more_lines():
    from hfscan.classifiers import classify_all
    from hfscan.harness import linecov, smoke
    from hfscan.scanner.discover import discover

    inventory = discover()
    job = smoke.plan_jobs(inventory.get("llama"), template=classify_all(inventory)["llama"].template)[0]

    def last(checks):
        results = list(linecov.run_job(replace(job, checks=checks)))
        assert all("coverage" in r.detail for r in results)
        return share([results[-1].detail["coverage"]])

    built_and_ran = last(("build", "forward"))
    everything = last(("build", "forward", "save-load", "generate"))
    assert 0 < built_and_ran < everything <= 1
    assert "llama/modeling_llama.py" in list(linecov.run_job(replace(job, checks=("build",))))[0].detail["coverage"]["files"]


def test_coverage_is_a_usage_error_with_another_job_source():
    from click.testing import CliRunner

    from hfscan.cli import cli

    res = CliRunner().invoke(cli, ["run", "bert", "--coverage", "--source", "checkpoint"])
    assert res.exit_code == 2 and "--coverage measures the random-weight smoke job" in res.output
