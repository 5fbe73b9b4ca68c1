"""Our MAF-derived TMB and FGA agree with cBioPortal's precomputed columns on nsclc_pd1_msk_2018.

The study (``../shared/data/nsclc_pd1_msk_2018``, Rizvi et al. J Clin Oncol 2018) carries
cBioPortal's ``TMB_NONSYNONYMOUS`` and ``FGA`` sample attributes. The model never reads them:
``tmb`` is counted from ``data_mutations.txt`` (``schema.NONSYNONYMOUS_CLASSES``) over the panel
size of each sample's panel (``data_gene_panel_matrix.txt``; 0.9016 / 1.0217 / 1.1565 Mb for
IMPACT341 / 410 / 468, from ``conf/features/nsclc.yaml``), and ``cn_fga`` from the segment file.
"Equal within rounding" means a relative difference below 1e-3: the panel sizes are given to
four digits, so an exact count differs from the column by at most ~5e-5 relative.

233 of 240 samples (97.1%) agree. The 7 exceptions, all with *more* mutations counted by us
than the column implies (column x panel Mb = count):

- P-0000012 (30 vs 29), P-0004472 (15 vs 14): each has one ``Translation_Start_Site`` variant;
  P-0001171 (90 vs 87) has two. These are the only 4 start-codon variants of the study, and every
  sample carrying one is an exception: the column did not count ``Translation_Start_Site``,
  although the study README lists it. We keep counting it: a lost start codon is
  non-synonymous (``schema.NONSYNONYMOUS_CLASSES``).
- P-0001171 (the third extra), P-0002794 (9 vs 8), P-0004890 (12 vs 11), P-0009426 (11 vs 10),
  P-0015531 (6 vs 5): one non-synonymous variant more than the column. Nothing in the study files
  marks the variant left out (all are SOMATIC, no duplicates, ordinary depths); the column was
  most likely computed from an earlier release of the MAF or with cBioPortal's gene-panel
  definitions, which are not in the folder. A difference of one mutation is ~1 mut/Mb.

FGA (|seg_mean| > 0.2, length-weighted, all chromosomes) matches the two-decimal ``FGA`` column
for 239 of 240 samples within 0.005 and all 240 within 0.02.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from feature_fixtures import load_config

from predictor.data.readers import read_cohort
from predictor.features.pipeline import build_feature_pipeline

pytestmark = pytest.mark.shared

EXCEPTIONS = {"P-0000012", "P-0001171", "P-0002794", "P-0004472", "P-0004890", "P-0009426",
              "P-0015531"}
STUDY = "nsclc_pd1_msk_2018"


@pytest.fixture(scope="module")
def features() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = Path(__file__).resolve().parents[2].parent / "shared" / "data" / STUDY
    if not folder.is_dir():
        pytest.skip(f"../shared/data/{STUDY} is not available")
    cohort = read_cohort(folder)
    config = load_config("nsclc")
    config["families"] = {"mutation": {"min_patients": 1}, "copynumber": config["families"]
                          ["copynumber"]}
    pipeline = build_feature_pipeline(config).fit(cohort)
    return pipeline.transform(cohort), cohort.clinical


def test_at_least_95_percent_of_samples_have_cbioportal_tmb(features) -> None:
    X, clinical = features
    ours = X["tmb"].to_numpy()
    theirs = clinical["tmb_nonsynonymous"].reindex(X.index).to_numpy(dtype=float)
    assert len(ours) == 240 and not np.isnan(ours).any()
    equal = np.isclose(ours, theirs, rtol=1e-3, atol=0.0)
    assert equal.mean() >= 0.95, f"{equal.sum()} of {len(equal)} agree"
    assert set(X.index[~equal]) == EXCEPTIONS
    assert (ours[~equal] > theirs[~equal]).all()  # we count more, never fewer


def test_fga_from_segments_agrees_with_cbioportal(features) -> None:
    X, clinical = features
    diff = np.abs(X["cn_fga"].to_numpy() - clinical["fga"].reindex(X.index).to_numpy(float))
    assert (diff <= 0.005 + 1e-9).mean() >= 0.99
    assert (diff <= 0.02).all()
