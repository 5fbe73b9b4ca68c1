"""Write a simulated cohort as a cBioPortal study folder with its ground truth beside it."""

from __future__ import annotations

from pathlib import Path

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.generate import simulate_cohort
from predictor.errors import InputError

TRUTH_FILE = "ground_truth.tsv"


def simulate_study(n_patients: int, seed: int, out_dir: Path) -> str:
    """Simulate ``n_patients`` and write them to the new folder ``out_dir``; return a summary.

    The folder is written atomically by ``write_cbioportal`` (never a partial study); an
    existing non-empty folder is refused, so user data is never overwritten.
    """
    from predictor.data.cbioportal import write_cbioportal

    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError("output folder exists and is not empty; choose a new folder",
                         file=out_dir)
    if n_patients < 1:
        raise InputError(f"--patients must be at least 1, got {n_patients}")
    if seed < 0:
        raise InputError(f"--seed must be zero or positive, got {seed}")
    cohort, truth = simulate_cohort(n_patients, seed)
    write_cbioportal(cohort, out_dir, extra_files={TRUTH_FILE: truth})
    n_mut = 0 if cohort.mutations is None else len(cohort.mutations)
    n_ct = 0 if cohort.ctdna is None else len(cohort.ctdna)
    return (
        f"Simulated {len(cohort)} patients (seed {seed}) into {out_dir}: "
        f"{n_mut} MAF rows, {len(cohort.clones)} clones, {len(cohort.cna)} CNA calls, "
        f"{n_ct} ctDNA measurements; panel {K.PANEL_ID} = {K.PANEL_MB:g} Mb; "
        f"ground truth in {out_dir / TRUTH_FILE} (never read into a cohort)."
    )
