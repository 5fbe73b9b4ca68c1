"""Write a simulated cohort as a cBioPortal study folder with its ground truth beside it."""

from __future__ import annotations

from pathlib import Path

from predictor.data.simulator import catalogue as K
from predictor.data.simulator.expression import MODES as EXPRESSION_MODES
from predictor.data.simulator.generate import regimen_truth, simulate_with_state
from predictor.errors import InputError
from predictor.files import occupied

TRUTH_FILE = "ground_truth.tsv"
TME_TRUTH_FILE = "ground_truth_tme.tsv"
REGIMEN_TRUTH_FILE = "ground_truth_regimens.tsv"


def simulate_study(n_patients: int, seed: int, out_dir: Path, *,
                   expression: str = "small") -> str:
    """Simulate ``n_patients`` and write them to the new folder ``out_dir``; return a summary.

    ``expression``: ``small`` (marker genes + a background panel, the default), ``full``
    (~20,000 genes) or ``none``; with expression, the true TME state behind it is written to
    ``ground_truth_tme.tsv`` (the other files do not depend on this choice). The truth of
    every patient under every candidate regimen of their cancer type goes to
    ``ground_truth_regimens.tsv`` (read by ``predictor.data.truth.read_regimen_truth``).

    The folder is written atomically by ``write_cbioportal`` (never a partial study); an
    existing non-empty folder is refused, so user data is never overwritten.
    """
    from predictor.data.cbioportal import write_cbioportal

    out_dir = Path(out_dir)
    if occupied(out_dir):
        raise InputError("output folder exists and is not empty; choose a new folder",
                         file=out_dir)
    if n_patients < 1:
        raise InputError(f"--patients must be at least 1, got {n_patients}")
    if seed < 0:
        raise InputError(f"--seed must be zero or positive, got {seed}")
    if expression not in EXPRESSION_MODES:
        raise InputError(f"--expression-genes must be one of {', '.join(EXPRESSION_MODES)}, "
                         f"got {expression!r}")
    cohort, truth, truth_tme, state = simulate_with_state(n_patients, seed,
                                                          expression=expression)
    extra = {TRUTH_FILE: truth, REGIMEN_TRUTH_FILE: regimen_truth(state)}
    if truth_tme is not None:
        extra[TME_TRUTH_FILE] = truth_tme
    write_cbioportal(cohort, out_dir, extra_files=extra)
    n_mut = 0 if cohort.mutations is None else len(cohort.mutations)
    n_ct = 0 if cohort.ctdna is None else len(cohort.ctdna)
    expr = ("no expression" if cohort.expression is None else
            f"expression {cohort.expression.shape[0]:,} genes (TPM) with the true TME state in "
            f"{TME_TRUTH_FILE}")
    return (
        f"Simulated {len(cohort)} patients (seed {seed}) into {out_dir}: "
        f"{n_mut} MAF rows, {len(cohort.clones)} clones, {len(cohort.cna)} CNA calls, "
        f"{n_ct} ctDNA measurements, {expr}; panel {K.PANEL_ID} = {K.PANEL_MB:g} Mb; "
        f"ground truth in {out_dir / TRUTH_FILE} and per candidate regimen in "
        f"{REGIMEN_TRUTH_FILE} (never read into a cohort)."
    )
