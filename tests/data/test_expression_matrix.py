"""The Expression container: compact float32 matrix, unique indexes, NaN for unmeasured genes."""

import numpy as np
import pandas as pd
import pytest

from predictor.data.cohort import Cohort
from predictor.data.expression import Expression
from predictor.errors import InputError


def _matrix(genes, samples, start=0.0):
    values = np.arange(len(genes) * len(samples), dtype=float).reshape(len(genes), -1) + start
    return Expression(values, genes, samples, unit="tpm")


def test_values_are_float32_and_indexes_are_strings():
    expr = _matrix(["CD8A", "GZMB"], ["s1", "s2", "s3"])
    assert expr.values.dtype == np.float32
    assert expr.shape == (2, 3)
    assert list(expr.gene_rows(["GZMB", "XXX"])) == [1, -1]


def test_duplicate_genes_and_shape_mismatch_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Expression(np.zeros((2, 1)), ["A", "A"], ["s1"])
    with pytest.raises(ValueError, match="2 genes and 2 samples"):
        Expression(np.zeros((2, 1)), ["A", "B"], ["s1", "s2"])


def test_concat_marks_genes_a_study_did_not_measure_as_missing_not_zero():
    a = _matrix(["CD8A", "GZMB"], ["a1", "a2"])
    b = _matrix(["GZMB", "PRF1"], ["b1"], start=100)
    pooled = Expression.concat([a, b])
    frame = pooled.to_frame()
    assert list(frame.columns) == ["a1", "a2", "b1"]
    assert np.isnan(frame.loc["PRF1", "a1"]) and np.isnan(frame.loc["CD8A", "b1"])
    assert frame.loc["GZMB", "b1"] == 100 and frame.loc["GZMB", "a2"] == 3


def test_cohort_subset_and_fingerprint_follow_expression():
    clinical = pd.DataFrame({"patient_id": ["p1", "p2"], "cancer_type": ["Melanoma"] * 2})
    expr = _matrix(["CD8A"], ["p1", "p2"])
    cohort = Cohort.from_tables(clinical=clinical, expression=expr)
    sub = cohort.subset(["p2"])
    assert list(sub.expression.samples) == ["p2"]
    assert sub.expression.values[0, 0] == 1
    plain = Cohort.from_tables(clinical=clinical)
    assert cohort.fingerprint() != plain.fingerprint()


def test_cohort_refuses_expression_of_unknown_sample():
    clinical = pd.DataFrame({"patient_id": ["p1"], "cancer_type": ["Melanoma"]})
    with pytest.raises(InputError, match="'zz'"):
        Cohort.from_tables(clinical=clinical, expression=_matrix(["CD8A"], ["p1", "zz"]))


def test_by_patient_averages_a_patients_samples_and_leaves_absent_patients_missing():
    expr = Expression(np.array([[1.0, 3.0, 10.0]]), ["CD8A"], ["s1", "s2", "s3"])
    samples = pd.DataFrame({"sample_id": ["s1", "s2", "s3"], "patient_id": ["p1", "p1", "p2"]})
    per = expr.by_patient(samples, pd.Index(["p2", "p1", "p3"]))
    assert list(per.samples) == ["p2", "p1", "p3"]
    assert per.values[0, 0] == 10 and per.values[0, 1] == 2 and np.isnan(per.values[0, 2])
    one = expr.select_samples(["s3", "s1"]).by_patient(samples, pd.Index(["p1", "p2"]))
    assert list(one.values[0]) == [1.0, 10.0]
