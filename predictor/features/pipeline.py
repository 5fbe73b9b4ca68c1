"""The feature pipeline: a union of feature families, built from a Hydra config, saved as JSON.

``build_feature_pipeline`` is the ``_target_`` of every ``conf/features/*.yaml``. Knowledge
files named in the config are loaded here, so the fitted pipeline carries them and prediction
never reads ``conf/``. ``FeaturePipeline.to_state()`` / ``from_state()`` replace pickling.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from predictor.data.cohort import Cohort
from predictor.data.regimens import REGIMEN, with_regimen
from predictor.errors import InputError
from predictor.features.base import (
    FeatureFamily,
    aligned_values,
    estimator_from_state,
    estimator_to_state,
    to_jsonable,
)
from predictor.features.clinical import ClinicalFeatures
from predictor.features.clonal import ClonalFeatures
from predictor.features.copynumber import CopyNumberFeatures
from predictor.features.estimator import BaseEstimator, TransformerMixin, check_is_fitted
from predictor.features.expression import ExpressionTMEFeatures
from predictor.features.knowledge import (
    DEFAULT_DRUGS,
    DEFAULT_EXPRESSION_SIGNATURES,
    load_drugs,
    load_expression_signatures,
    load_gene_sets,
)
from predictor.features.maf import DEFAULT_PANEL_SIZES_MB
from predictor.features.mechanism import MechanismFeatures
from predictor.features.monitoring import CtDNAFeatures
from predictor.features.mutation import MutationFeatures
from predictor.features.passthrough import PassthroughFeatures
from predictor.features.published_expression import PublishedExpressionScores
from predictor.features.systemic import SystemicFeatures
from predictor.features.tme import TMEFeatures
from predictor.features.within_cohort import WithinCohortRanks
from predictor.plain import plain

logger = logging.getLogger(__name__)
STATE_FORMAT = "predictor.features.FeaturePipeline/1"

# Family name -> class, in output order. Computed features come before pass-through columns,
# so that when two families give the same name (``tmb`` from the MAF and from a flat file's
# TMB column) the computed value wins and the pass-through one fills its gaps.
FAMILIES: dict[str, type[FeatureFamily]] = {
    "mutation": MutationFeatures,
    "clonal": ClonalFeatures,
    "copynumber": CopyNumberFeatures,
    "tme": TMEFeatures,
    "expression": ExpressionTMEFeatures,
    "published_expression": PublishedExpressionScores,
    "systemic": SystemicFeatures,
    "mechanism": MechanismFeatures,
    "monitoring": CtDNAFeatures,
    "clinical": ClinicalFeatures,
    "passthrough": PassthroughFeatures,
}
# Top-level config keys handed to every family that takes them.
SHARED = ("panel_sizes_mb", "default_panel_size_mb", "clonal_threshold", "estimate_purity",
          "default_purity")


class FeaturePipeline(TransformerMixin, BaseEstimator):
    """Runs named feature families side by side and concatenates their outputs.

    A family whose input table is absent at fit is skipped (logged); one absent at transform
    time gives NaN columns under its fitted names. Duplicate names across families are merged
    into one column: the first family's value, its NaNs filled by the next. ``within_cohort``
    (a :class:`WithinCohortRanks`, optional) then replaces features by their rank normal
    scores inside each cohort of the input (the clinical column it names).
    """

    def __init__(self, steps: list[tuple[str, FeatureFamily]],
                 within_cohort: WithinCohortRanks | None = None) -> None:
        self.steps = steps
        self.within_cohort = within_cohort

    def fit(self, cohort: Cohort, y: Any = None) -> FeaturePipeline:
        _check_grouping(self.within_cohort)
        active: list[str] = []
        for name, step in self.steps:
            if not step.available(cohort):
                logger.info("feature family %r skipped: its input table or column is absent", name)
                continue
            step.fit(cohort)
            active.append(name)
        self.active_steps_ = active
        names: list[str] = []
        categorical: list[str] = []
        for _, step in self._active():
            names.extend(n for n in step.feature_names_ if n not in names)
            categorical.extend(n for n in step.categorical_features if n not in categorical)
        self.feature_names_ = names
        self.categorical_features_ = categorical
        if self.within_cohort is not None:
            union = self._union(cohort)
            if self.within_cohort.features is None:  # every feature but category codes
                union = union.drop(columns=categorical)
            self.within_cohort.fit(union)
            cats = set(categorical).intersection(self.within_cohort.features_)
            if cats:
                raise InputError("within_cohort cannot rank a categorical feature",
                                 column=sorted(cats)[0])
        return self

    def transform(self, cohort: Cohort) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_")
        out = self._union(cohort)
        if self.within_cohort is None:
            return out
        groups = self.within_cohort.groups_of(cohort.clinical, out.index)
        return self.within_cohort.transform(out, groups)

    def what_if(self, cohort: Cohort) -> RegimenFeatures:
        """The features of ``cohort`` and, on demand, of any of its patients under another
        regimen (:class:`RegimenFeatures`: the one definition training and serving share)."""
        check_is_fitted(self, "feature_names_")
        _check_grouping(self.within_cohort)  # a pipeline fitted before fit refused it
        return RegimenFeatures(self, cohort)

    def _union(self, cohort: Cohort) -> pd.DataFrame:
        """The families' outputs side by side (before any within-cohort ranking)."""
        return self._assemble(cohort.patient_ids,
                              [(step, cohort) for _, step in self._active()])

    def _assemble(self, index: pd.Index, parts: list[tuple], names: list[str] | None = None
                  ) -> pd.DataFrame:
        """The active families' outputs merged into the columns ``names`` (default: every
        feature). ``parts``, in family order: ``(family, cohort)`` to compute (written in place
        when the family can, see :func:`_direct_rows`) or ``(values, names)`` already computed
        (what-if rows)."""
        names = list(self.feature_names_ if names is None else names)
        position = {name: i for i, name in enumerate(names)}
        # One (features x patients) block filled family by family and wrapped once: pandas
        # stores a float64 frame as exactly this transposed block, so there is no per-family
        # frame, concat, fillna or block consolidation (which made transform superlinear).
        block = np.empty((len(names), len(index)))
        filled = np.zeros(len(names), dtype=bool)  # rows written so far (the rest end NaN)
        for part in parts:
            if isinstance(part[1], Cohort):  # a family to compute on this cohort
                step, on = part
                rows = _direct_rows(step, position, filled)
                if rows is not None and step.transform_into(on, block[rows]):
                    filled[rows] = True  # written in place: no per-family array to copy
                    continue
                values, step_names = _step_values(step, on)
            else:
                values, step_names = part
            if values is None:  # input absent: NaN columns, which fill no gap
                continue
            for j, name in enumerate(step_names):
                row = position.get(name)
                if row is None:
                    continue
                if filled[row]:  # a name given by an earlier family: fill its gaps only
                    gaps = np.isnan(block[row])
                    block[row, gaps] = values[gaps, j]
                else:
                    block[row] = values[:, j]
                    filled[row] = True
        block[~filled] = np.nan
        if index.name != "patient_id":
            index = index.rename("patient_id")
        return pd.DataFrame(block.T, index=index, columns=names, copy=False)

    def family(self, name: str) -> FeatureFamily | None:
        """The fitted family ``name`` when it is active (fitted on its input), else None."""
        return dict(self._active()).get(name)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def _active(self) -> list[tuple[str, FeatureFamily]]:
        active = set(self.active_steps_)
        return [(name, step) for name, step in self.steps if name in active]

    # ------------------------------------------------------------------ JSON state
    def to_state(self) -> dict:
        """JSON-serialisable state: every step's class, params and learned attributes."""
        check_is_fitted(self, "feature_names_")
        return {
            "format": STATE_FORMAT,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "steps": [{"name": name, **estimator_to_state(step)} for name, step in self.steps],
            "within_cohort": (None if self.within_cohort is None
                              else estimator_to_state(self.within_cohort)),
            "active_steps": list(self.active_steps_),
            "feature_names": to_jsonable(self.feature_names_),
            "categorical_features": to_jsonable(self.categorical_features_),
        }

    @classmethod
    def from_state(cls, state: Mapping) -> FeaturePipeline:
        """Rebuild a fitted pipeline from :meth:`to_state` output (after a JSON round trip)."""
        if state.get("format") != STATE_FORMAT:
            raise InputError(f"not a feature-pipeline state (format {state.get('format')!r}, "
                             f"expected {STATE_FORMAT!r})")
        steps = [(s["name"], estimator_from_state(s)) for s in state["steps"]]
        within = state.get("within_cohort")
        pipeline = cls(steps=steps,
                       within_cohort=estimator_from_state(within) if within else None)
        pipeline.active_steps_ = list(state["active_steps"])
        pipeline.feature_names_ = list(state["feature_names"])
        pipeline.categorical_features_ = list(state["categorical_features"])
        return pipeline


class RegimenFeatures:
    """The features of one cohort's patients, and of any of them under another regimen.

    Why one class: the regimen CV of training (:func:`predictor.training.regimens.what_if`)
    and ``predict --regimens`` (:mod:`predictor.serving.regimens`) must build what-if rows
    alike, or the learner chosen in training is not the one that serves.

    The row of patient *p* under regimen *R* (:meth:`under`) is *p*'s row of
    ``pipeline.transform(cohort)`` with *p*'s regimen, and only *p*'s, replaced by *R*:
    the families that read the regimen (``reads_regimen``: the mechanism family) are computed
    again over the cohort with the regimen of the patients asked about set to *R*
    (:func:`predictor.data.regimens.with_regimen`: long tables shared, not copied), the other
    families come from the one plain pass (:attr:`features`). With within-cohort ranks,
    *p*'s new values are ranked among the other patients' values as they are
    (:meth:`WithinCohortRanks.transform_replaced`), so *R* = *p*'s own regimen gives *p*'s
    plain row exactly, ranks or not.
    """

    def __init__(self, pipeline: FeaturePipeline, cohort: Cohort) -> None:
        self.pipeline = pipeline
        self.cohort = cohort
        active = [step for _, step in pipeline._active()]
        outputs = [_step_values(step, cohort) for step in active]
        self.union = pipeline._assemble(cohort.patient_ids, outputs)
        within = pipeline.within_cohort
        self._groups = (None if within is None
                        else within.groups_of(cohort.clinical, self.union.index))
        self.features = (self.union if within is None
                         else within.transform(self.union, self._groups))
        self._matrix = self.features.to_numpy(dtype=np.float64)
        self._changing = [step if getattr(step, "reads_regimen", False) else None
                          for step in active]
        changed = {n for step, (_, names) in zip(self._changing, outputs, strict=True)
                   if step is not None for n in names}
        #: the feature columns a regimen can change (every other column is the plain one)
        self.regimen_columns = [n for n in pipeline.feature_names_ if n in changed]
        self._columns = self.features.columns.get_indexer(self.regimen_columns)
        # a regimen column also given by a family that does not read the regimen (merged
        # names): that family's plain values of it, to merge again in the same order
        self._fixed: list[tuple[np.ndarray, list[str]] | None] = []
        for step, (values, names) in zip(self._changing, outputs, strict=True):
            keep = [j for j, n in enumerate(names) if n in changed]
            self._fixed.append(None if step is not None or values is None or not keep
                               else (values[:, keep], [names[j] for j in keep]))

    def cohort_under(self, regimen: str, positions: np.ndarray) -> Cohort:
        """The cohort with the patients at ``positions`` given ``regimen`` (the others
        without a regimen)."""
        ids = self.cohort.patient_ids[np.asarray(positions, dtype=np.int64)]
        return with_regimen(self.cohort, pd.Series(regimen, index=ids, dtype="string"))

    def under(self, regimen: str, positions: np.ndarray) -> pd.DataFrame:
        """Feature rows of the patients at ``positions`` (in that order), each under
        ``regimen``; indexed by patient id, columns as :attr:`features`."""
        positions = np.asarray(positions, dtype=np.int64)
        block = self._matrix[positions]  # a copy: the plain rows of these patients
        if self.regimen_columns:
            what = self.cohort_under(regimen, positions)
            outputs: list[tuple[np.ndarray | None, list]] = []
            for step, fixed in zip(self._changing, self._fixed, strict=True):
                if step is not None:
                    values, names = _step_values(step, what)
                    outputs.append((None if values is None else values[positions], names))
                elif fixed is not None:
                    outputs.append((fixed[0][positions], fixed[1]))
            index = self.features.index[positions]
            new = self.pipeline._assemble(index, outputs, self.regimen_columns).to_numpy()
            within = self.pipeline.within_cohort
            if within is not None:
                new = within.transform_replaced(self.union, self._groups, positions, new,
                                                self.regimen_columns)
            block[:, self._columns] = new
        return pd.DataFrame(block, index=self.features.index[positions],
                            columns=self.features.columns, copy=False)


def _check_grouping(within: WithinCohortRanks | None) -> None:
    """Refuse ranks grouped by the regimen column.

    Why: a what-if regimen replaces the clinical ``regimen`` column (and nothing else), so
    with groups taken from it the patient would change group under every candidate, and
    :meth:`WithinCohortRanks.transform_replaced` ranks a what-if row among the patient's
    plain group. Refused at fit, the earliest point; again at what-if time for a pipeline
    fitted before this check. Any other clinical column is the patient's fixed group."""
    if within is not None and str(within.column).strip().lower() == REGIMEN:
        raise InputError(f"features.within_cohort: the group column may not be the regimen "
                         f"column ({within.column!r}): a what-if regimen would move the "
                         "patient to another group", column="features.within_cohort.column")


def _direct_rows(step: FeatureFamily, position: dict[str, int], filled: np.ndarray
                 ) -> slice | None:
    """The block rows a family may write in place: its names in consecutive rows that no
    earlier family filled (else its values go through the gap-filling merge)."""
    if not (isinstance(step, FeatureFamily) and type(step).transform is FeatureFamily.transform):
        return None
    names = list(step.feature_names_)
    first = position.get(names[0]) if names else None
    if first is None or [position.get(n) for n in names] != list(range(first,
                                                                          first + len(names))):
        return None
    rows = slice(first, first + len(names))
    return None if filled[rows].any() else rows


def _step_values(step: FeatureFamily, cohort: Cohort) -> tuple[np.ndarray | None, list]:
    """A step's output as a (patients, features) float64 array in the cohort's patient order
    and its column names; ``None`` when its input is absent (all NaN)."""
    if isinstance(step, FeatureFamily) and type(step).transform is FeatureFamily.transform:
        return step.transform_values(cohort), list(step.feature_names_)
    frame = step.transform(cohort)  # a step with its own transform: use it as it is
    return aligned_values(frame, cohort.patient_ids, list(frame.columns)), list(frame.columns)


def build_feature_pipeline(cfg: Mapping | None = None, /, **kwargs: Any) -> FeaturePipeline:
    """A :class:`FeaturePipeline` from a config (a dict, a DictConfig, or keyword arguments).

    Keys: ``families`` (name -> options; ``enabled: false`` turns one off; families not
    listed are off), and shared options handed to the families that take them:
    ``panel_sizes_mb``, ``default_panel_size_mb``, ``clonal_threshold``, ``estimate_purity``,
    ``default_purity``. ``within_cohort`` (options of :class:`WithinCohortRanks`, ``enabled:
    false`` or null for none) ranks the features inside each cohort. ``mutation.gene_sets``,
    ``mechanism.knowledge_base`` and ``expression.gene_sets`` are YAML paths
    (relative: from the working directory, else the checkout or package) loaded into the
    step params.
    """
    config = plain({**plain(cfg or {}), **plain(kwargs)})
    config.pop("_target_", None)
    config.pop("_convert_", None)
    families = config.pop("families", None) or {}
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise InputError(f"unknown feature families {sorted(unknown)} "
                         f"(known: {', '.join(FAMILIES)})", column="features.families")
    shared = {k: config.pop(k) for k in SHARED if k in config}
    within = _within_cohort(config.pop("within_cohort", None))
    shared.setdefault("panel_sizes_mb", dict(DEFAULT_PANEL_SIZES_MB))
    if config:
        raise InputError(f"unknown feature options {sorted(config)}", column="features")
    steps: list[tuple[str, FeatureFamily]] = []
    for name, cls in FAMILIES.items():
        if name not in families or families[name] is False:
            continue
        options = {} if families[name] in (None, True) else dict(families[name])
        if not options.pop("enabled", True):
            continue
        steps.append((name, _make(name, cls, options, shared)))
    return FeaturePipeline(steps=steps, within_cohort=within)


def _within_cohort(options: Any) -> WithinCohortRanks | None:
    if options in (None, False):
        return None
    options = {} if options is True else dict(options)
    if not options.pop("enabled", True):
        return None
    allowed = set(WithinCohortRanks().get_params())
    bad = set(options) - allowed
    if bad:
        raise InputError(f"unknown option(s) {sorted(bad)} for within_cohort "
                         f"(allowed: {', '.join(sorted(allowed))})",
                         column="features.within_cohort")
    return WithinCohortRanks(**options)


def _make(name: str, cls: type[FeatureFamily], options: dict, shared: dict) -> FeatureFamily:
    if name == "mutation" and "gene_sets" in options:
        path = options.pop("gene_sets")
        options["pathways"] = load_gene_sets(path) if path else None
    if name == "mechanism":
        markers = bool(options.pop("expression_markers", False))
        options["drugs"] = load_drugs(options.pop("knowledge_base", DEFAULT_DRUGS),
                                      expression_markers=markers)
    if name == "expression":
        path = options.pop("gene_sets", None) or DEFAULT_EXPRESSION_SIGNATURES
        options["gene_sets"] = path if isinstance(path, dict) else load_expression_signatures(path)
    params = set(cls().get_params())
    for key, value in shared.items():
        if key in params and key not in options:
            options[key] = value
    bad = set(options) - params
    if bad:
        raise InputError(f"unknown option(s) {sorted(bad)} for feature family {name!r} "
                         f"(allowed: {', '.join(sorted(params))})",
                         column=f"features.families.{name}")
    return cls(**options)
