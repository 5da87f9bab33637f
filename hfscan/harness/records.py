"""The shared records, re-exported where the harness's code and tests have always imported them.

They live in :mod:`hfscan.records`, below every stage, so the cache and the reports need no harness.
"""

from hfscan.records import (CHECKS, FAILING, TEMPLATES, CheckResult, Coverage, Job, RunInfo, Status,  # noqa: F401
                            coverage_by_model_type, coverage_of)

__all__ = ["CHECKS", "FAILING", "TEMPLATES", "CheckResult", "Coverage", "Job", "RunInfo", "Status",
           "coverage_by_model_type", "coverage_of"]
