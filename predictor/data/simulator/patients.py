"""Patient-level draws: cancer type, demographics, treatment line, blood markers.

Systemic inflammation is one latent factor ``z_inflam ~ N(0, 1)`` that raises the
neutrophil-to-lymphocyte ratio and lowers albumin (cancer cachexia), so the two blood markers
are correlated the way they are in clinics:

    log(NLR) = log(3.0) + 0.35 z_inflam + 0.35 e1,      albumin = 3.9 - 0.25 z_inflam + 0.3 e2

Later lines of therapy come with more inflammation (+0.25 per line), as pretreated patients do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predictor.data.simulator import catalogue as K


@dataclass
class Patients:
    """Struct of per-patient arrays (index = patient position)."""

    cancer: np.ndarray  # int8 index into CANCER_TYPES
    age: np.ndarray
    female: np.ndarray  # bool
    line: np.ndarray  # int, 1 = first line
    site: np.ndarray  # int, source hospital 0..2
    z_inflam: np.ndarray
    nlr: np.ndarray
    albumin: np.ndarray

    def __len__(self) -> int:
        return len(self.cancer)


def draw_patients(n: int, rng: np.random.Generator) -> Patients:
    """Draw the clinical baseline of ``n`` patients."""
    cancer = rng.choice(len(K.CANCER_TYPES), size=n, p=K.CANCER_FREQ).astype(np.int8)
    age = np.clip(rng.normal(K.AGE_MEAN[cancer], 10.0), 25.0, 92.0).round(1)
    female = rng.random(n) < K.FEMALE_RATE[cancer]
    line = 1 + rng.choice(3, size=n, p=[0.55, 0.30, 0.15])
    site = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    z_inflam = rng.standard_normal(n) + 0.25 * (line - 1)
    nlr = np.exp(np.log(3.0) + 0.35 * z_inflam + 0.35 * rng.standard_normal(n)).round(2)
    albumin = np.clip(3.9 - 0.25 * z_inflam + 0.3 * rng.standard_normal(n), 1.8, 5.3).round(2)
    return Patients(cancer=cancer, age=age, female=female, line=line, site=site,
                    z_inflam=z_inflam, nlr=nlr, albumin=albumin)
