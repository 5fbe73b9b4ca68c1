"""``--engine dask``: score a (partitioned) Parquet dataset on a Dask cluster.

Workers receive the bundle *path* and load it once per process (compiled code cannot be
shipped between processes); each partition becomes a Cohort through the bundle's input
mapping and is scored by the compiled core. Results are gathered in partition order and
appended to one output file, written atomically. With ``scheduler=None`` a small in-process
``LocalCluster`` is used; a remote scheduler's workers must see the bundle path and input.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections import deque
from pathlib import Path

import pandas as pd

from predictor.data.flat import cohort_from_frame
from predictor.errors import InputError
from predictor.serving.io import PredictionWriter

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _worker_predictor(bundle_dir: str, backend: str, manifest_sha: str):
    """One loaded Predictor per worker process, bundle (path and manifest hash) and backend.

    ``manifest_sha`` is the canonical manifest hash the client verified: a worker (which may
    not share the client's key) loads the bundle only if its manifest still has that hash.
    """
    from predictor.serving.bundle import load_bundle_dir

    return load_bundle_dir(Path(bundle_dir), backend=backend, verified_sha256=manifest_sha)


def score_partition(frame: pd.DataFrame, bundle_dir: str, backend: str, manifest_sha: str,
                    explain: int, source: str) -> pd.DataFrame:
    """Predictions for one partition (runs on a worker)."""
    predictor = _worker_predictor(bundle_dir, backend, manifest_sha)
    if len(frame) == 0:
        return pd.DataFrame(columns=predictor.output_columns)
    cohort = cohort_from_frame(frame, predictor.manifest.get("input_mapping"), source=source,
                               name="batch", outcomes=False)
    return predictor.predict(cohort, explain=explain)


def _read(input_path: Path):
    import dask.dataframe as dd

    if input_path.is_file() and input_path.suffix.lower() not in (".parquet", ".pq"):
        raise InputError("--engine dask reads Parquet (a file or a folder of files)",
                         file=input_path)
    try:
        return dd.read_parquet(str(input_path))
    except Exception as error:  # dask/pyarrow raise many types for unreadable input
        raise InputError(f"cannot read as Parquet: {str(error).splitlines()[0][:200]}",
                         file=input_path) from None


def run_dask(
    bundle_dir: Path,
    input_path: Path,
    output: Path,
    *,
    fmt: str,
    backend: str = "compiled",
    explain: int = 0,
    scheduler: str | None = None,
    overwrite: bool = False,
) -> tuple[int, str]:
    """Score ``input_path`` on a Dask cluster and write ``output``.

    Returns the number of rows written and the backend the predictor uses here (partitions are
    cut by the Parquet files/row groups, not by ``--batch-size``).
    """
    from dask import delayed
    from distributed import Client, LocalCluster

    # Load once here: checks trust and hashes and compiles for this CPU before any worker
    # starts; workers then accept exactly the manifest checked here.
    from predictor.serving.bundle import load_bundle_dir
    from predictor.serving.trust import manifest_sha256

    checked = load_bundle_dir(Path(bundle_dir), backend=backend)
    manifest_sha = manifest_sha256(checked.manifest)
    used = checked.backend
    ddf = _read(input_path)
    parts = ddf.to_delayed()
    score = delayed(score_partition, pure=True)
    tasks = [score(part, str(bundle_dir), backend, manifest_sha, explain, str(input_path))
             for part in parts]
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                               dashboard_address=None)
    try:
        try:
            client = Client(scheduler or cluster, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise InputError(f"cannot reach the Dask scheduler {scheduler!r} "
                             f"({type(error).__name__})") from None
        with client, PredictionWriter(output, fmt, overwrite) as writer:
            # A sliding window of partitions in flight bounds memory; results are written in
            # partition order and released as soon as they are on disk.
            window = max(2, 2 * sum(client.nthreads().values()))
            pending: deque = deque()
            queue = iter(tasks)
            for task in itertools.islice(queue, window):
                pending.append(client.compute(task))
            while pending:
                future = pending.popleft()
                frame = future.result()
                future.release()
                if len(frame):
                    writer.write(frame)
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append(client.compute(nxt))
            if writer.rows == 0:
                raise InputError("input has no patients", file=input_path)
            writer.commit()
            return writer.rows, used
    finally:
        if cluster is not None:
            cluster.close()
