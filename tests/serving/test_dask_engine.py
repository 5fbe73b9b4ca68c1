"""``--engine dask`` on a partitioned Parquet dataset gives the local engine's predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predictor.serving.batch import run_batch_prediction


@pytest.fixture(scope="module")
def parquet_dataset(tmp_path_factory, flat_csv):
    folder = tmp_path_factory.mktemp("dataset") / "patients"
    folder.mkdir()
    table = pd.read_csv(flat_csv, dtype={"patient_id": str})
    for i, part in enumerate(np.array_split(np.arange(len(table)), 3)):
        table.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


def test_dask_equals_local(bundle_dir, parquet_dataset, tmp_path):
    local, dask = tmp_path / "local.parquet", tmp_path / "dask.parquet"
    run_batch_prediction(str(bundle_dir), parquet_dataset, local, batch_size=70)
    summary = run_batch_prediction(str(bundle_dir), parquet_dataset, dask, engine="dask",
                                   explain=1)
    assert "dask engine" in summary
    a, b = pd.read_parquet(local), pd.read_parquet(dask)
    assert len(a) == 300 and a["patient_id"].tolist() == b["patient_id"].tolist()
    np.testing.assert_allclose(a.select_dtypes("number").to_numpy(),
                               b[a.columns].select_dtypes("number").to_numpy(),
                               rtol=0, atol=1e-12)
    assert b["top1_feature"].notna().all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dask.parquet", "local.parquet"]


def test_dask_rejects_csv(bundle_dir, flat_csv, tmp_path):
    from predictor.errors import InputError

    with pytest.raises(InputError, match="Parquet"):
        run_batch_prediction(str(bundle_dir), flat_csv, tmp_path / "o.csv", engine="dask")
    assert not (tmp_path / "o.csv").exists()


def test_dask_bad_partition_leaves_no_output(bundle_dir, flat_csv, tmp_path):
    from predictor.errors import InputError

    folder = tmp_path / "bad"
    folder.mkdir()
    table = pd.read_csv(flat_csv, dtype={"patient_id": str}).head(40)
    table.iloc[:20].to_parquet(folder / "part-0.parquet", index=False)
    bad = table.iloc[20:].astype({"age": str})
    bad.loc[bad.index[3], "age"] = "sixty"
    bad.to_parquet(folder / "part-1.parquet", index=False)
    out = tmp_path / "out" / "pred.parquet"
    with pytest.raises(InputError, match="age"):
        run_batch_prediction(str(bundle_dir), folder, out, engine="dask")
    assert not out.exists() and not list((tmp_path / "out").glob("*.tmp"))
