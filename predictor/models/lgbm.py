"""Shared LightGBM plumbing for the heads: deterministic params, feature checks, inner-fold
early stopping and loading model files.

Feature matrices are pandas DataFrames of float64 (NaN allowed). LightGBM always receives a
float64 numpy array with columns in ``feature_names_`` order, so a prediction never depends on
the column order of the caller's frame, and names LightGBM would rewrite (whitespace) are
kept as the caller gave them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from predictor.errors import InputError
from predictor.files import write_text_atomic
from predictor.models.io import FORMAT_VERSION, check_model_file, read_json, write_json_atomic
from predictor.models.linear import LinearScorer

if TYPE_CHECKING:  # LightGBM is imported where it is used: serving a compiled bundle never is
    import lightgbm as lgb

log = logging.getLogger(__name__)

MODEL_FILE = "model.txt"
LINEAR_FILE = "linear.json"

# LightGBM refuses these characters in feature names (they break its JSON model dump).
_FORBIDDEN_NAME_CHARS = set('",:[]{}')


def base_params(
    *,
    num_leaves: int,
    learning_rate: float,
    min_child_samples: int,
    feature_fraction: float,
    bagging_fraction: float,
    bagging_freq: int,
    lambda_l2: float,
    seed: int,
    num_threads: int,
) -> dict:
    """LightGBM params shared by the heads; fixed seeds and row-wise histograms for determinism."""
    return {
        "num_leaves": int(num_leaves),
        "learning_rate": float(learning_rate),
        "min_child_samples": int(min_child_samples),
        "feature_fraction": float(feature_fraction),
        "bagging_fraction": float(bagging_fraction),
        "bagging_freq": int(bagging_freq),
        "lambda_l2": float(lambda_l2),
        "seed": int(seed),
        "num_threads": int(num_threads),
        "deterministic": True,
        "force_row_wise": True,
        "feature_pre_filter": False,
        "verbose": -1,
    }


# Below this many rows LightGBM runs on one thread: synchronising threads costs more than it
# saves on small cohorts, and on a busy machine OpenMP spin-waiting made 2 threads 10-40x slower.
SINGLE_THREAD_ROWS = 2000


def threads_for(n_rows: int, num_threads: int) -> int:
    """Threads LightGBM uses for ``n_rows`` rows: ``num_threads`` is an upper bound."""
    return 1 if n_rows < SINGLE_THREAD_ROWS else max(1, int(num_threads))


def check_features(
    X: pd.DataFrame, categorical_features: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Validate a training matrix; return (feature names, categorical feature names)."""
    if not isinstance(X, pd.DataFrame):
        raise InputError(f"features must be a pandas DataFrame, got {type(X).__name__}")
    if X.shape[1] == 0:
        raise InputError("the feature matrix has no columns")
    if X.shape[0] == 0:
        raise InputError("the feature matrix has no rows")
    names = [str(c) for c in X.columns]
    if len(set(names)) != len(names):
        dup = pd.Index(names)[pd.Index(names).duplicated()][0]
        raise InputError(f"duplicate feature name {dup!r}", column=dup)
    for name in names:
        bad = _FORBIDDEN_NAME_CHARS.intersection(name)
        if bad:
            raise InputError(
                f"feature name contains a character LightGBM cannot store ({''.join(sorted(bad))})",
                column=name,
            )
    cats = [str(c) for c in categorical_features]
    unknown = [c for c in cats if c not in names]
    if unknown:
        raise InputError("categorical feature is not a column of the feature matrix",
                         column=unknown[0])
    return names, cats


def to_matrix(X: pd.DataFrame, feature_names: Sequence[str]) -> np.ndarray:
    """The columns ``feature_names`` of ``X`` as float64 (missing column -> InputError)."""
    if not isinstance(X, pd.DataFrame):
        raise InputError(f"features must be a pandas DataFrame, got {type(X).__name__}")
    columns = pd.Index([str(c) for c in X.columns])
    missing = [n for n in feature_names if n not in columns]
    if missing:
        raise InputError(
            f"feature matrix lacks {len(missing)} feature(s) the model was trained on "
            f"(first: {missing[0]!r})",
            column=missing[0],
        )
    frame = X.set_axis(columns, axis=1)[list(feature_names)]
    try:
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(f"feature matrix has non-numeric values ({exc})") from exc


def target_array(X: pd.DataFrame, values: Iterable[float], what: str) -> np.ndarray:
    """A target as float64 in the row order of ``X``. A pandas Series indexed by the same ids
    (e.g. patient_id) is aligned by index; anything else is taken in order."""
    if (isinstance(values, pd.Series) and not values.index.equals(X.index)
            and values.index.is_unique and X.index.is_unique
            and X.index.isin(values.index).all()):
        values = values.reindex(X.index)
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64).reshape(-1)
    else:
        arr = pd.Series(list(values) if not isinstance(values, pd.Series) else values,
                        dtype="float64").to_numpy(dtype=np.float64, na_value=np.nan)
    if len(arr) != len(X):
        raise InputError(f"{len(X)} feature rows but {len(arr)} {what}")
    return arr


def make_dataset(
    matrix: np.ndarray,
    label: np.ndarray,
    feature_names: Sequence[str],
    categorical: Sequence[str],
    params: dict,
    weight: np.ndarray | None = None,
    reference: lgb.Dataset | None = None,
) -> lgb.Dataset:
    """A LightGBM Dataset built with the same binning params as the booster."""
    import lightgbm as lgb

    return lgb.Dataset(
        matrix,
        label=label,
        weight=weight,
        feature_name=list(feature_names),
        categorical_feature=list(categorical) if categorical else "auto",
        params=_dataset_params(params),
        reference=reference,
        free_raw_data=False,
    )


def _dataset_params(params: dict) -> dict:
    keys = ("verbose", "feature_pre_filter", "seed", "num_threads", "force_row_wise")
    return {k: params[k] for k in keys if k in params and not callable(params[k])}


@dataclass
class FoldSetup:
    """What one inner fold trains with: params (possibly a bound custom objective) and data."""

    params: dict
    train: lgb.Dataset
    valid: lgb.Dataset
    feval: Callable | None = None


def choose_rounds(
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    setup: Callable[[np.ndarray, np.ndarray], FoldSetup],
    matrix: np.ndarray,
    n_estimators: int,
    early_stopping_rounds: int,
) -> tuple[int, np.ndarray, list[int]]:
    """Early-stop on each inner validation fold; return the rounds to refit with (mean best
    iteration), out-of-fold raw scores and the per-fold best iterations.

    The out-of-fold scores use every fold's booster at the common number of rounds (capped at
    the trees it grew), not at its own best iteration: a fold's best iteration is picked on
    that same validation fold, which would make the trees look better out of fold than the
    refit model is, and would tilt the calibrator and the linear blend towards them."""
    import lightgbm as lgb

    oof = np.full(matrix.shape[0], np.nan)
    best: list[int] = []
    boosters: list[tuple[lgb.Booster, np.ndarray, int]] = []
    for train_idx, valid_idx in folds:
        fold = setup(train_idx, valid_idx)
        booster = lgb.train(
            fold.params,
            fold.train,
            num_boost_round=int(n_estimators),
            valid_sets=[fold.valid],
            valid_names=["valid"],
            feval=fold.feval,
            callbacks=[lgb.early_stopping(int(early_stopping_rounds), first_metric_only=True,
                                          verbose=False)],
        )
        it = int(booster.best_iteration) or booster.current_iteration()
        best.append(max(it, 1))
        boosters.append((booster, valid_idx, fold.params.get("num_threads", 1)))
    rounds = max(1, round(float(np.mean(best))))
    for booster, valid_idx, threads in boosters:
        oof[valid_idx] = booster.predict(
            matrix[valid_idx], raw_score=True,
            num_iteration=min(rounds, booster.current_iteration()), num_threads=threads)
    return rounds, oof, best


def effective_folds(counts: Sequence[int], wanted: int, what: str) -> int:
    """Number of inner folds: ``wanted``, lowered to the rarest class count (at least 2)."""
    smallest = int(min(counts)) if len(counts) else 0
    if smallest < 2:
        raise InputError(f"too few {what} to train: need at least 2 in each class, "
                         f"got counts {list(map(int, counts))}")
    return int(max(2, min(int(wanted), smallest)))


def warn_if_constant(booster: lgb.Booster, head: str, n_rows: int, min_child_samples: int) -> bool:
    """Log a warning when the booster never split (too few patients for the leaf size): its
    predictions are then the same for everyone. Returns True when constant."""
    if booster.feature_importance(importance_type="split").sum() > 0:
        return False
    log.warning("the %s head learned no split from %d patients (min_child_samples=%d): "
                "every patient gets the same prediction; lower min_child_samples or add data",
                head, n_rows, min_child_samples)
    return True


def load_booster(path: Path) -> lgb.Booster:
    """Load a LightGBM text model (works for models trained with a custom objective)."""
    import lightgbm as lgb

    path = check_model_file(Path(path))
    try:
        return lgb.Booster(model_file=str(path))
    except lgb.basic.LightGBMError as exc:
        raise InputError(f"not a valid LightGBM model file ({exc})", file=path) from exc


def gain_importance(booster: lgb.Booster, feature_names: Sequence[str]) -> pd.Series:
    """Total split gain per feature, sorted descending (names as given at fit time)."""
    gain = booster.feature_importance(importance_type="gain")
    return pd.Series(gain, index=list(feature_names), name="gain").sort_values(ascending=False)


def _jsonable(value):
    if isinstance(value, Mapping):
        return dict(value) or None
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    return value


class BoosterHead:
    """What both heads do with their fitted booster and optional linear part (see ``linear``):
    raw scores, gain importance, per-patient contributions, params (``get_params`` is read
    off ``__init__``, as in sklearn; the shared LightGBM settings), and the files they share on
    disk (model.txt, linear.json, and the state keys common to both). Fitted heads have
    ``booster_`` and ``feature_names_``; ``linear_``/``tree_weight_`` default to trees alone.
    Subclasses set ``KIND`` and ``STATE_FILE``."""

    KIND: str
    STATE_FILE: str
    feature_names_: list[str]
    num_threads: int
    linear_ = None  # LinearScorer | None
    tree_weight_: float = 1.0

    @property
    def booster_(self) -> lgb.Booster:
        """The fitted LightGBM booster. A loaded head reads its model file on first use only:
        serving with the compiled core needs the file's path, not LightGBM."""
        booster = self.__dict__.get("_booster")
        if booster is None:
            path = self.__dict__.get("_booster_file")
            if path is None:
                raise AttributeError(f"{type(self).__name__} has no booster_ (not fitted)")
            booster = self.__dict__["_booster"] = load_booster(path)
        return booster

    @booster_.setter
    def booster_(self, booster: lgb.Booster) -> None:
        self.__dict__["_booster"] = booster

    # ------------------------------------------------------------------ params
    def get_params(self) -> dict:
        """The constructor arguments (as sklearn's estimators expose them), JSON-able:
        sequences as lists of floats, mappings as dicts (an empty one as None)."""
        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        return {name: _jsonable(getattr(self, name)) for name in names}

    def _booster_params(self) -> dict:
        """``base_params`` from the head's own settings (each head adds its objective)."""
        return base_params(
            num_leaves=self.num_leaves, learning_rate=self.learning_rate,
            min_child_samples=self.min_child_samples, feature_fraction=self.feature_fraction,
            bagging_fraction=self.bagging_fraction, bagging_freq=self.bagging_freq,
            lambda_l2=self.lambda_l2, seed=self.seed, num_threads=self.num_threads,
        )

    # ------------------------------------------------------------------ persistence
    def _save_dir(self, directory: Path) -> Path:
        """Check the head is fitted and create ``directory``."""
        self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def _save_common(self, directory: Path, extra: dict) -> Path:
        """Write model.txt, linear.json (when blended) and, last, the state file: the keys
        both heads share plus the head's ``extra`` (each file atomically)."""
        write_text_atomic(directory / MODEL_FILE, self.booster_.model_to_string())
        self._save_linear(directory)
        write_json_atomic(directory / self.STATE_FILE, {
            "format_version": FORMAT_VERSION,
            "kind": self.KIND,
            "params": self.get_params(),
            "tree_weight": float(self.tree_weight_),
            "best_iteration": int(self.best_iteration_),
            "inner_best_iterations": list(self.inner_best_iterations_),
            "feature_names": list(self.feature_names_),
            "categorical_features": list(self.categorical_features_),
            "n_train": int(self.n_train_),
            **extra,
        })
        return directory

    @classmethod
    def _load_common(cls, directory: Path) -> tuple[BoosterHead, dict]:
        """A head rebuilt from the shared files, and its state dict for the head's own keys."""
        directory = Path(directory)
        state = read_json(directory / cls.STATE_FILE)
        if state.get("kind") != cls.KIND:
            raise InputError(f"not a {cls.KIND} model state file",
                             file=directory / cls.STATE_FILE)
        model = cls(**cls._params_from_state(dict(state["params"])))
        model._booster_file = check_model_file(directory / MODEL_FILE)  # loaded on first use
        model.best_iteration_ = int(state["best_iteration"])
        model.inner_best_iterations_ = list(state.get("inner_best_iterations", []))
        model.feature_names_ = list(state["feature_names"])
        model.categorical_features_ = list(state["categorical_features"])
        model.n_train_ = int(state.get("n_train", 0))
        model._load_linear(directory, state.get("tree_weight", 1.0))
        return model, state

    @classmethod
    def _params_from_state(cls, params: dict) -> dict:
        """Constructor arguments from the saved ``get_params()`` (JSON turns tuples to lists)."""
        return params

    def _check_fitted(self) -> None:
        if "_booster" not in self.__dict__ and "_booster_file" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__} is not fitted")

    def blend_raw(self, booster_raw: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """The head's raw score from the booster's (computed anywhere, e.g. compiled) and the
        feature matrix in ``feature_names_`` order: ``w * trees + (1 - w) * linear``."""
        booster_raw = np.asarray(booster_raw, dtype=np.float64).reshape(-1)
        if self.linear_ is None:
            return booster_raw
        w = float(self.tree_weight_)
        return w * booster_raw + (1.0 - w) * self.linear_.decision(matrix)

    def _booster_raw_score(self, X: pd.DataFrame) -> np.ndarray:
        self._check_fitted()
        matrix = to_matrix(X, self.feature_names_)
        raw = self.booster_.predict(
            matrix, raw_score=True, num_threads=threads_for(len(matrix), self.num_threads))
        return self.blend_raw(raw, matrix)

    def _save_linear(self, directory: Path) -> None:
        """Write linear.json when the head blends in a linear part (remove a stale one)."""
        path = Path(directory) / LINEAR_FILE
        if self.linear_ is None:
            path.unlink(missing_ok=True)
            return
        write_json_atomic(path, {"tree_weight": float(self.tree_weight_),
                                 **self.linear_.to_dict()})

    def _load_linear(self, directory: Path, tree_weight: float) -> None:
        """Restore the linear part ``_save_linear`` wrote; ``tree_weight`` comes from the state."""
        self.tree_weight_ = float(tree_weight)
        self.linear_ = None
        if self.tree_weight_ >= 1.0:
            return
        path = Path(directory) / LINEAR_FILE
        if not path.is_file():
            raise InputError(f"the model blends a linear part but {LINEAR_FILE} is missing",
                             file=path)
        state = read_json(path)
        try:
            self.linear_ = LinearScorer.from_dict(state)
        except InputError as exc:
            raise InputError(exc.message, file=path) from None
        if self.linear_.feature_names != list(self.feature_names_):
            raise InputError("linear part features differ from the booster's", file=path)

    def feature_importance(self) -> pd.Series:
        """Total split gain per feature, descending (the trees' view, whatever the blend)."""
        self._check_fitted()
        return gain_importance(self.booster_, self.feature_names_)

    def contribution_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Additive contributions to the head's raw score, shape (n, features + 1); the last
        column is the bias. Trees (TreeSHAP) and linear part are weighted like the scores."""
        self._check_fitted()
        contrib = np.asarray(self.booster_.predict(
            matrix, pred_contrib=True, num_threads=threads_for(len(matrix), self.num_threads)))
        if self.linear_ is None:
            return contrib
        w = float(self.tree_weight_)
        return w * contrib + (1.0 - w) * self.linear_.contributions(matrix)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-patient additive contributions to the raw score (plus ``bias``)."""
        contrib = self.contribution_matrix(to_matrix(X, self.feature_names_))
        return pd.DataFrame(contrib, columns=[*self.feature_names_, "bias"], index=X.index)
