"""The sweep summary table: varying overrides, ordering, metrics read from each job's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from predictor.tracking.sweep_summary import (
    JobResult,
    summary_frame,
    to_markdown,
    varying_overrides,
    write_summary,
)


def _job(number: int, overrides: list[str], objective: float | None, status: str = "COMPLETED",
         **metrics: float) -> JobResult:
    return JobResult(number=number, overrides=overrides, status=status, objective=objective,
                     output_dir=Path(f"/sweep/{number}"), metrics=dict(metrics))


def test_only_the_swept_overrides_are_columns() -> None:
    jobs = [_job(0, ["+experiment=demo_fast", "model.response.num_leaves=4", "seed=1"], 0.7),
            _job(1, ["+experiment=demo_fast", "model.response.num_leaves=8", "seed=1"], 0.8),
            _job(2, ["+experiment=demo_fast", "model.response.num_leaves=8", "seed=1",
                     "compile=false"], 0.6)]
    assert varying_overrides(jobs) == ["model.response.num_leaves", "compile"]


def test_rows_are_best_first_with_failed_jobs_last(tmp_path: Path) -> None:
    jobs = [_job(0, ["a=1"], 0.71, cv_harrell_c=0.62),
            _job(1, ["a=2"], None, status="FAILED"),
            _job(2, ["a=3"], 0.74, cv_harrell_c=0.60, cv_ece=0.03)]
    frame = summary_frame(jobs, "cv_roc_auc")
    assert frame["job"].tolist() == [2, 0, 1]
    assert frame["a"].tolist() == ["3", "1", "2"]
    assert list(frame.columns[:3]) == ["job", "a", "objective (cv_roc_auc)"]
    assert "cv_roc_auc" not in frame.columns  # the objective is not shown twice
    assert frame["cv_ece"].isna().tolist() == [False, True, True]
    csv, md = write_summary(frame, tmp_path / "sweep")
    assert pd.read_csv(csv)["job"].tolist() == [2, 0, 1]
    text = md.read_text()
    assert text.splitlines()[0].startswith("| job | a | objective (cv_roc_auc) |")
    assert "| 2 | 3 | 0.740 |" in text and "| 1 | 2 | – |" in text
    assert to_markdown(frame) + "\n" == text


def test_job_result_reads_the_job_metrics(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import OmegaConf

    from predictor.tracking.sweep_summary import job_result

    out = tmp_path / "3"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps({"cv_roc_auc": 0.75, "cv_harrell_c": 0.66,
                                                  "test_roc_auc": 0.9}))
    hydra_cfg = OmegaConf.create({"hydra": {"job": {"num": 3},
                                            "runtime": {"output_dir": str(out)}}})
    done = JobReturn(overrides=["a=1"], hydra_cfg=hydra_cfg, status=JobStatus.COMPLETED)
    done.return_value = 0.75
    job = job_result(done)
    assert (job.number, job.status, job.objective) == (3, "COMPLETED", 0.75)
    assert job.metrics == {"cv_roc_auc": 0.75, "cv_harrell_c": 0.66}  # no test metric
    failed = JobReturn(overrides=["a=2"], hydra_cfg=hydra_cfg, status=JobStatus.FAILED)
    failed.return_value = RuntimeError("boom")
    assert job_result(failed).objective is None
    assert job_result(SimpleNamespace(overrides=None)).number == -1
