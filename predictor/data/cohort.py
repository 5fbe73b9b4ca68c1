"""The ``Cohort``: every table a response/relapse model needs, checked against the schema.

Outcomes live in their own table so that feature code, which receives ``cohort`` and never
``cohort.outcomes``, cannot leak them. Tables other than ``clinical`` are optional; a feature
family whose table is absent is skipped.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

import pandas as pd

from predictor.data import schema as S
from predictor.data.expression import Expression
from predictor.errors import InputError

OPTIONAL_TABLES = ("mutations", "cna", "clones", "tme", "ctdna", "segments")
_SET_ASIDE: ContextVar[list[dict] | None] = ContextVar("outcomes_set_aside", default=None)
_IGNORED: ContextVar[bool] = ContextVar("outcomes_ignored", default=False)


@contextlib.contextmanager
def outcomes_ignored() -> Iterator[None]:
    """Within the block, readers neither parse nor check outcome columns and cohorts have no
    outcomes. Used by ``predictor predict``: prediction never uses outcomes, so a partial or
    odd outcome column (an event without a time, ``Response=2``) must not stop it."""
    token = _IGNORED.set(True)
    try:
        yield
    finally:
        _IGNORED.reset(token)


def outcomes_wanted() -> bool:
    """False inside :func:`outcomes_ignored` (readers skip outcome columns)."""
    return not _IGNORED.get()


@contextlib.contextmanager
def outcomes_set_aside() -> Iterator[list[dict]]:
    """Within the block, cohorts read from any source blank unusable outcome values instead of
    failing, and the yielded list collects one record per blanked patient and endpoint
    (:func:`predictor.data.schema.set_aside_bad_outcomes`). Used by ``predictor evaluate``:
    a registry's incomplete row must not stop an evaluation, but training stays strict."""
    found: list[dict] = []
    token = _SET_ASIDE.set(found)
    try:
        yield found
    finally:
        _SET_ASIDE.reset(token)


@dataclass
class Cohort:
    """A set of patients with their inputs and (optionally) their outcomes.

    ``clinical`` and ``outcomes`` are indexed by ``patient_id``; the other tables are long tables
    with plain integer indexes, keyed as their schema says. ``samples`` maps sample ids (the MAF's
    ``Tumor_Sample_Barcode``) to patients; when a study has no samples, each patient is its own
    sample. ``expression`` (optional) is a genes x samples matrix keyed by the same sample ids.
    """

    clinical: pd.DataFrame
    samples: pd.DataFrame | None = None
    mutations: pd.DataFrame | None = None
    cna: pd.DataFrame | None = None
    clones: pd.DataFrame | None = None
    tme: pd.DataFrame | None = None
    ctdna: pd.DataFrame | None = None
    segments: pd.DataFrame | None = None
    expression: Expression | None = None
    outcomes: pd.DataFrame | None = None
    name: str = "cohort"
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_tables(cls, *, validate: bool = True, **tables) -> Cohort:
        """Build a cohort from long tables (``patient_id`` a column, not yet the index)."""
        clinical = tables.pop("clinical")
        outcomes = tables.pop("outcomes", None)
        if not outcomes_wanted():
            outcomes = None
        if validate:
            clinical = S.coerce_and_check(clinical, S.CLINICAL)
            if outcomes is not None:
                collected = _SET_ASIDE.get()
                if collected is not None:
                    outcomes, found = S.set_aside_bad_outcomes(outcomes)
                    collected.extend(found)
                outcomes = S.coerce_and_check(outcomes, S.OUTCOMES)
                S.check_outcome_times(outcomes)
        clinical = _index_by_patient(clinical)
        if outcomes is not None:
            outcomes = _index_by_patient(outcomes)
        samples = tables.pop("samples", None)
        derived = samples is None
        if derived:
            samples = pd.DataFrame(
                {"sample_id": clinical.index.astype("string"),
                 "patient_id": clinical.index.astype("string")}
            )
            # Ids the clinical check already trimmed: validate() need not strip them again.
            samples.attrs["text_trimmed"] = validate
        cohort = cls(clinical=clinical, samples=samples, outcomes=outcomes, **tables)
        return cohort.validate(samples_checked=derived) if validate else cohort

    def validate(self, *, samples_checked: bool = False) -> Cohort:
        """Check every table against the schema and the links between tables.

        ``samples_checked``: the samples table was built here from the checked clinical ids
        (one sample per patient, ``sample_id == patient_id``), so it is valid by construction;
        re-checking it (a duplicate scan and a lookup of every id) was ~10% of reading a flat
        file.
        """
        if not samples_checked:
            self.samples = S.coerce_and_check(self.samples, S.SAMPLES)
            S.check_references(self.samples, S.SAMPLES, "patient_id", self.clinical.index,
                               "clinical")
        for name in OPTIONAL_TABLES:
            table = getattr(self, name)
            if table is None:
                continue
            table = S.coerce_and_check(table, S.SCHEMAS[name])
            setattr(self, name, table)
            if name in ("mutations",):
                S.check_references(table, S.MUTATIONS, "Tumor_Sample_Barcode",
                                   self.samples["sample_id"], "samples")
            elif name in ("cna", "clones", "segments"):
                S.check_references(table, S.SCHEMAS[name], "sample_id",
                                   self.samples["sample_id"], "samples")
            else:
                S.check_references(table, S.SCHEMAS[name], "patient_id", self.clinical.index,
                                   "clinical")
        if self.expression is not None:
            unknown = self.expression.samples.difference(
                pd.Index(self.samples["sample_id"], dtype="string"))
            if len(unknown):
                raise InputError(f"expression for sample {unknown[0]!r} which is not in the "
                                 "samples table", file=self.expression.source,
                                 column=str(unknown[0]))
        if self.outcomes is not None:
            unknown = self.outcomes.index.difference(self.clinical.index)
            if len(unknown):
                raise InputError(
                    f"outcome for patient {unknown[0]!r} who is not in the clinical table",
                    file=self.outcomes.attrs.get("source"), column="patient_id")
        return self

    # ------------------------------------------------------------------ views
    @property
    def patient_ids(self) -> pd.Index:
        return self.clinical.index

    def __len__(self) -> int:
        return len(self.clinical)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables that are present, by name (outcomes included)."""
        names = ("clinical", "samples", *OPTIONAL_TABLES, "outcomes")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def sample_to_patient(self) -> pd.Series:
        """``sample_id -> patient_id`` mapping."""
        return pd.Series(
            self.samples["patient_id"].to_numpy(), index=self.samples["sample_id"].to_numpy()
        )

    def mutations_by_patient(self) -> pd.DataFrame | None:
        """Mutations with a ``patient_id`` column joined from the samples table."""
        if self.mutations is None:
            return None
        mut = self.mutations.copy()
        mut["patient_id"] = mut["Tumor_Sample_Barcode"].map(self.sample_to_patient())
        return mut

    def subset(self, patient_ids: Iterable) -> Cohort:
        """The same cohort restricted to ``patient_ids`` (in that order)."""
        ids = pd.Index(list(patient_ids), name="patient_id")
        missing = ids.difference(self.clinical.index)
        if len(missing):
            raise KeyError(f"unknown patient ids: {list(missing[:5])}")
        samples = self.samples[self.samples["patient_id"].isin(ids)]
        sample_ids = set(samples["sample_id"])
        kw: dict = {}
        for name in OPTIONAL_TABLES:
            table = getattr(self, name)
            if table is None:
                kw[name] = None
            elif "patient_id" in table.columns:
                kw[name] = table[table["patient_id"].isin(ids)]
            else:
                key = "Tumor_Sample_Barcode" if name == "mutations" else "sample_id"
                kw[name] = table[table[key].isin(sample_ids)]
        outcomes = None if self.outcomes is None else self.outcomes.reindex(ids)
        expression = None if self.expression is None else self.expression.select_samples(
            [s for s in self.expression.samples if s in sample_ids])
        return replace(self, clinical=self.clinical.loc[ids], samples=samples,
                       outcomes=outcomes, expression=expression, **kw)

    def without_outcomes(self) -> Cohort:
        """The cohort as a model sees it at prediction time."""
        return replace(self, outcomes=None)

    def fingerprint(self) -> str:
        """A content hash of the inputs and outcomes (for MLflow tags; not reversible to ids)."""
        digest = hashlib.sha256()
        for name, table in sorted(self.tables().items()):
            digest.update(name.encode())
            hashed = pd.util.hash_pandas_object(table.reset_index(), index=False)
            digest.update(hashed.to_numpy().tobytes())
        if self.expression is not None:  # only when present: older fingerprints stay the same
            digest.update(b"expression")
            digest.update(self.expression.fingerprint_bytes())
        return digest.hexdigest()[:16]


def _index_by_patient(table: pd.DataFrame) -> pd.DataFrame:
    if table.index.name == "patient_id":
        return table
    attrs = dict(table.attrs)
    if attrs.get("text_trimmed") and isinstance(table["patient_id"].dtype, pd.StringDtype):
        # A frame one of our readers just built (no caller holds it): move the ids to the
        # index without set_index's copy of every column (~15 ms per 100k rows).
        out = table.copy(deep=False)
        ids = out.pop("patient_id")
        out.index = pd.Index(ids.array, dtype="string", name="patient_id")
        out.attrs = attrs
        return out
    out = table.set_index("patient_id", drop=True)
    out.index = out.index.astype("string")
    out.attrs = attrs
    return out
