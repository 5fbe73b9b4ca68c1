"""Compiled prediction core: LightGBM text models compiled to native code with lleaves.

Why: tree ensembles evaluated as generated machine code are several times faster than
``lightgbm.Booster.predict``. A compiled library is only loaded when (1) this machine built it
(its JSON sidecar carries a MAC made with the user's local key, see ``serving.trust``: a library
from anywhere else is never loaded, the text model is compiled again into the user cache),
(2) it was built from exactly this model file (sha256 in the sidecar), (3) it was built for this
CPU (else it is rebuilt into a user cache dir, never inside the bundle) and (4) at build time its
raw scores matched LightGBM's to ``TOLERANCE`` on a probe batch covering NaN, zero, every split
threshold and every category value. When (4) fails we record ``backend: lightgbm`` and fall back.
A library is loaded from a private copy of the bytes whose sha256 was checked, so a file swapped
after the check is never the one executed.

Only raw scores are compiled; calibration and survival transforms are shared Python code, so
both backends agree.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np

from predictor.errors import InputError
from predictor.files import atomic_path, write_json
from predictor.serving import trust

log = logging.getLogger(__name__)

TOLERANCE = 1e-9
LIBRARY_SUFFIX = ".o"  # lleaves caches a relocatable ELF object, loaded by LLVM's MCJIT
SIDECAR_SUFFIX = ".json"
PROBE_SUFFIX = ".probe.npy"
MAX_PROBE_DATA_ROWS = 1000
MAX_THRESHOLDS_PER_FEATURE = 64
ROWS_PER_THREAD = 10_000  # smaller batches run on the calling thread (no pool start-up)
SMALL_SNAP_VALUES = 1 << 16  # up to this many values the snap check is one vectorised pass
MAX_ROWS_PER_CALL = 2**31 - 2  # the generated function counts rows in an int32
_CPUS = os.cpu_count() or 1
SMALL_OUT_ROWS = 256  # up to this many rows are scored into a per-thread buffer
K_ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float constant)
_K_ZERO_BITS = int(np.array(K_ZERO_THRESHOLD, dtype=np.float64).view(np.uint64))
_LIMIT, _ONE = np.uint64(_K_ZERO_BITS << 1), np.uint64(1)


class RawScorer(Protocol):
    """Anything that turns a float64 feature matrix into raw (margin) scores."""

    backend: str

    def raw_score(self, X: np.ndarray, n_jobs: int | None = None,
                  prepared: bool = False) -> np.ndarray: ...


def prepare_matrix(X: np.ndarray, snap: bool = True) -> np.ndarray:
    """C-ordered float64, with LightGBM's input snapping applied when ``snap``: what scorers
    accept with ``prepared=True`` (lets two heads share one pass over the data). ``snap`` may
    be False only when no scorer that receives the matrix is zero-sensitive."""
    data = np.ascontiguousarray(X, dtype=np.float64)
    return snap_tiny_to_zero(data) if snap else data


@dataclass
class CompiledInfo:
    """What the JSON sidecar of a compiled library records."""

    name: str
    backend: str  # "compiled" or "lightgbm" (compilation failed or did not match)
    model_sha256: str
    library: str | None
    library_sha256: str | None
    cpu: dict
    lleaves_version: str
    llvmlite_version: str
    lightgbm_version: str
    probe: str | None
    probe_rows: int
    max_abs_diff: float | None
    tolerance: float = TOLERANCE
    objective_patched: bool = False
    reason: str | None = None
    extra: dict = field(default_factory=dict)
    key_id: str | None = None  # the local key that MACed this sidecar (serving.trust)
    mac: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CompiledInfo:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


# ---------------------------------------------------------------------------- helpers
def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def host_cpu() -> dict:
    """The CPU a library compiled here is valid for (LLVM's view plus the machine type)."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot always detect features
        features = ""
    return {"name": llvm.get_host_cpu_name(), "features": features,
            "machine": platform.machine()}


@functools.lru_cache(maxsize=1)
def _versions() -> dict:
    return {name: metadata.version(name) for name in ("lleaves", "llvmlite", "lightgbm")}


def cache_dir() -> Path:
    """Where libraries rebuilt for this CPU go: ``$XDG_CACHE_HOME/predictor`` or ~/.cache."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "predictor" / "compiled"


def _write_npy_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


# ---------------------------------------------------------------------------- model text
@dataclass
class _ModelText:
    """The parts of a LightGBM text model the probe and the compiler need."""

    n_features: int
    n_classes: int
    has_objective: bool
    categorical: dict[int, list[int]]  # feature index -> category values seen in training
    thresholds: dict[int, list[float]]  # feature index -> numeric split thresholds
    # A split in [-1e-35, 1e-35) or a "zero is missing" node: LightGBM's snapping of
    # |x| <= 1e-35 to 0 can change a decision, so the compiled scorer must snap too.
    zero_sensitive: bool = False
    # ... and the only such splits are at exactly -1e-35 (no zero-is-missing node): then only
    # x == -1e-35 itself decides otherwise than 0 does, and snapping it alone is exact.
    only_minus_k: bool = False


def _parse_model_text(model_txt: Path) -> _ModelText:
    n_features = n_classes = 0
    has_objective = False
    categorical: dict[int, list[int]] = {}
    thresholds: dict[int, set[float]] = {}
    split_feature: list[int] = []
    zero_sensitive = False
    other_sensitive = False  # a sensitive split not at exactly -1e-35, or a zero-missing node
    with open(model_txt) as handle:
        in_header = True
        for raw in handle:
            line = raw.rstrip("\n")
            if in_header:
                if line.startswith("Tree="):
                    in_header = False
                elif line.startswith("max_feature_idx="):
                    n_features = int(line.split("=", 1)[1]) + 1
                elif line.startswith("num_class="):
                    n_classes = int(line.split("=", 1)[1])
                elif line.startswith("objective="):
                    has_objective = True
                elif line.startswith("feature_infos="):
                    for idx, info in enumerate(line.split("=", 1)[1].split(" ")):
                        if info and not info.startswith("[") and info != "none":
                            categorical[idx] = sorted(int(v) for v in info.split(":"))
                continue
            if line == "end of trees":
                break
            if line.startswith("split_feature="):
                split_feature = [int(v) for v in line.split("=", 1)[1].split()]
            elif line.startswith("threshold=") and split_feature:
                for feat, thr in zip(split_feature, line.split("=", 1)[1].split(), strict=False):
                    if feat not in categorical:
                        value = float(thr)
                        thresholds.setdefault(feat, set()).add(value)
                        if _snap_changes_split(value):
                            zero_sensitive = True
                            other_sensitive |= value != -K_ZERO_THRESHOLD
            elif line.startswith("decision_type="):
                for code in line.split("=", 1)[1].split():
                    kind = int(code)
                    # numeric node whose missing type is "zero" (bits 2-3 == 1)
                    if not kind & 1 and (kind >> 2) & 3 == 1:
                        zero_sensitive = other_sensitive = True
    return _ModelText(
        n_features=n_features, n_classes=n_classes, has_objective=has_objective,
        categorical=categorical,
        thresholds={k: sorted(v) for k, v in thresholds.items()},
        zero_sensitive=zero_sensitive,
        only_minus_k=zero_sensitive and not other_sensitive,
    )


def _snap_changes_split(threshold: float) -> bool:
    """Whether snapping 0 < |x| <= 1e-35 to 0 can change the numeric split ``x <= threshold``:
    only for thresholds in [-1e-35, 1e-35). At exactly +1e-35 (LightGBM's usual bin boundary
    next to zero) both x and 0 go left, so such models need no snap. The lower end keeps a
    margin (a threshold just below -1e-35 changes nothing either; erring costs only time)."""
    return -K_ZERO_THRESHOLD * (1 + 1e-9) <= threshold < K_ZERO_THRESHOLD


def _compilable_copy(model_txt: Path, info: _ModelText, work_dir: Path) -> tuple[Path, bool]:
    """A model file lleaves can parse: custom-objective (Cox) models have no ``objective=``.

    lleaves requires that line; ``objective=custom`` makes it emit the raw score, which is what
    we compile anyway (``raw_score=True``), so the patch cannot change any prediction.
    """
    if info.has_objective:
        return model_txt, False
    lines = model_txt.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("feature_names=") or line.startswith("feature_infos="):
            lines.insert(i, "objective=custom\n")
            break
    else:
        raise ValueError(f"{model_txt} is not a LightGBM text model (no feature_infos line)")
    patched = work_dir / "model_for_compilation.txt"
    patched.write_text("".join(lines))
    return patched, True


def build_probe(
    model_txt: Path, probe_X: np.ndarray | None, seed: int = 0, *, include_data: bool = True
) -> np.ndarray:
    """Probe rows: (a sample of) ``probe_X`` plus rows that exercise every branch kind.

    Added rows: all-NaN, all-zero, each numeric split threshold and its neighbours, every
    category value seen in training plus an unseen one and -1 (LightGBM sends negatives to the
    missing branch), each placed in an otherwise typical row (the per-feature median of
    ``probe_X``). ``include_data=False`` leaves the ``probe_X`` rows themselves out: that is the
    probe stored in a bundle, so no patient's feature row travels with the model.
    """
    info = _parse_model_text(model_txt)
    n = info.n_features
    rows: list[np.ndarray] = []
    if probe_X is not None and len(probe_X):
        data = np.asarray(probe_X, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != n:
            raise ValueError(f"probe has shape {data.shape}, the model needs {n} features")
        if len(data) > MAX_PROBE_DATA_ROWS:
            pick = np.random.default_rng(seed).choice(len(data), MAX_PROBE_DATA_ROWS,
                                                      replace=False)
            data = data[np.sort(pick)]
        if include_data:
            rows.append(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column
            base = np.nanmedian(data, axis=0)
        base = np.where(np.isnan(base), 0.0, base)
    else:
        base = np.zeros(n)
    rows.append(np.full((1, n), np.nan))
    rows.append(np.zeros((1, n)))
    for feat, values in info.categorical.items():
        extra = [*values, max(values, default=0) + 1, -1.0, np.nan]
        block = np.repeat(base[None, :], len(extra), axis=0)
        block[:, feat] = extra
        rows.append(block)
    for feat, thr in info.thresholds.items():
        chosen = np.asarray(thr)
        if len(chosen) > MAX_THRESHOLDS_PER_FEATURE:
            chosen = chosen[np.linspace(0, len(chosen) - 1, MAX_THRESHOLDS_PER_FEATURE,
                                        dtype=int)]
        values = np.concatenate([chosen, np.nextafter(chosen, np.inf),
                                 np.nextafter(chosen, -np.inf)])
        block = np.repeat(base[None, :], len(values), axis=0)
        block[:, feat] = values
        rows.append(block)
    rng = np.random.default_rng(seed)
    noisy = np.repeat(base[None, :], 64, axis=0)
    noisy[rng.random(noisy.shape) < 0.3] = np.nan
    rows.append(noisy)
    return np.ascontiguousarray(np.vstack(rows), dtype=np.float64)


# ---------------------------------------------------------------------------- scorers
class LightGBMScorer:
    """Raw scores from ``lightgbm.Booster.predict(raw_score=True)``: the reference backend."""

    backend = "lightgbm"
    snap = False  # LightGBM snaps |x| <= 1e-35 itself

    def __init__(self, model_txt: Path) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_file=str(model_txt))

    def raw_score(self, X: np.ndarray, n_jobs: int | None = None,
                  prepared: bool = False) -> np.ndarray:
        params = {"num_threads": n_jobs} if n_jobs else {}
        out = self.booster.predict(np.asarray(X, dtype=np.float64), raw_score=True, **params)
        return np.asarray(out, dtype=np.float64).reshape(-1)


class CompiledScorer:
    """Raw scores from an lleaves library (fp64, so results match LightGBM bit for bit)."""

    backend = "compiled"

    def __init__(self, model_txt: Path, library: Path) -> None:
        import lleaves

        self.library = library
        self.model = lleaves.Model(model_file=str(model_txt))
        # With an existing cache file lleaves loads the object and skips code generation.
        self.model.compile(cache=str(library), raw_score=True)
        self.n_features = self.model.num_feature()
        parsed = _parse_model_text(model_txt)
        self.snap = parsed.zero_sensitive
        self._only_minus_k = parsed.only_minus_k
        self._entry = _direct_entry(self.model)
        self._local = threading.local()

    def raw_score(self, X: np.ndarray, n_jobs: int | None = None,
                  prepared: bool = False) -> np.ndarray:
        """Raw scores; ``prepared=True`` promises ``X`` came from :func:`prepare_matrix`."""
        data = X if prepared else np.ascontiguousarray(X, dtype=np.float64)
        shape = data.shape
        if len(shape) != 2 or shape[1] != self.n_features:
            raise ValueError(f"expected (n, {self.n_features}) features, got {shape}")
        n = shape[0]
        if self.snap and not prepared:
            data = snap_minus_k(data) if self._only_minus_k else snap_tiny_to_zero(data)
        # lleaves starts a thread pool per call: only worth it for large batches.
        threads = 1 if n < 2 * ROWS_PER_THREAD or n_jobs == 1 else max(
            1, min(n_jobs or _CPUS, n // ROWS_PER_THREAD))
        if threads == 1 and self._entry is not None and 0 < n <= MAX_ROWS_PER_CALL and (
                not prepared or (data.dtype == np.float64 and data.flags.c_contiguous)):
            # The generated function itself, on this thread: lleaves' predict() re-checks and
            # converts the input and builds ctypes pointers, several us per call.
            if n > SMALL_OUT_ROWS:
                out = np.empty(n)
                self._entry(data.ctypes.data, out.ctypes.data, 0, n)
                return out
            local = self._local  # a per-thread output buffer: its address is looked up once
            buffer = getattr(local, "buffer", None)
            if buffer is None:
                buffer = local.buffer = np.empty(SMALL_OUT_ROWS)
                local.address = buffer.ctypes.data
            self._entry(data.ctypes.data, local.address, 0, n)
            return buffer[:n].copy()
        return self.model.predict(data, n_jobs=threads)


def _direct_entry(model):
    """The compiled scoring function of an lleaves model, called with raw addresses
    (``f(data, out, first_row, end_row)``, float64, rows of ``num_feature()`` values, the
    signature of lleaves' ``get_entry_func_type``), or None when this lleaves does not expose it
    (then its ``predict`` is used)."""
    import ctypes

    entry = getattr(model, "_c_entry_func", None)
    if entry is None or not getattr(model, "use_fp64", False):
        return None
    address = ctypes.cast(entry, ctypes.c_void_p).value
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                            ctypes.c_int32)(address)


def snap_minus_k(data: np.ndarray) -> np.ndarray:
    """``data`` with every value equal to -1e-35 (LightGBM's -kZeroThreshold) set to 0: all
    the snap a model needs when its only zero-sensitive splits are at exactly -1e-35 (one
    comparison per value instead of three). Copies only if a value changes."""
    data = np.ascontiguousarray(data, dtype=np.float64)
    flag = data == -K_ZERO_THRESHOLD
    if not np.count_nonzero(flag):
        return data
    out = data.copy()
    out[flag] = 0.0
    return out


def snap_tiny_to_zero(data: np.ndarray, block_rows: int | None = None) -> np.ndarray:
    """LightGBM reads |x| <= 1e-35 (its ``kZeroThreshold``) as exactly 0 before walking the
    trees; generated code compares the value itself. Snapping keeps the two identical.

    Tests the bit patterns in cache-sized row blocks: with the sign bit shifted out, ``bits - 1``
    (unsigned) is below ``bits(1e-35)`` exactly for the non-zero values of magnitude <= 1e-35
    (zero wraps around; NaN and inf are huge). Copies ``data`` only if a value changes.
    """
    data = np.ascontiguousarray(data, dtype=np.float64)
    if data.size == 0:
        return data
    if data.size <= SMALL_SNAP_VALUES and block_rows is None:  # small batch: no blocks
        shifted = np.left_shift(data.ravel().view(np.uint64), _ONE)
        np.subtract(shifted, _ONE, out=shifted)
        flag = np.less(shifted, _LIMIT)
        if not np.count_nonzero(flag):  # faster than flag.any() on small arrays
            return data
        out = data.copy()
        out.reshape(-1)[flag] = 0.0
        return out
    n_cols = data.shape[1] if data.ndim == 2 else 1
    rows = block_rows or max(1, (1 << 18) // max(n_cols, 1))
    limit, one = _LIMIT, _ONE
    out = data
    buffer = np.empty(min(rows, len(data)) * n_cols, dtype=np.uint64)
    mask = np.empty(buffer.shape, dtype=bool)
    for start in range(0, len(data), rows):
        bits = out[start:start + rows].reshape(-1).view(np.uint64)
        buf, flag = buffer[: bits.size], mask[: bits.size]
        np.left_shift(bits, one, out=buf)
        np.subtract(buf, one, out=buf)
        np.less(buf, limit, out=flag)
        if flag.any():
            if out is data:
                out = data.copy()
            out[start:start + rows].reshape(-1)[flag] = 0.0
    return out


def _compile_to(model_txt: Path, library: Path, work_dir: Path) -> tuple[CompiledScorer, bool]:
    """Compile ``model_txt`` into ``library`` (written atomically) and load it."""
    import lleaves

    info = _parse_model_text(model_txt)
    if info.n_classes != 1:
        raise ValueError(f"only single-output models are compiled (num_class={info.n_classes})")
    source, patched = _compilable_copy(model_txt, info, work_dir)
    tmp_lib = work_dir / "library.o"
    model = lleaves.Model(model_file=str(source))
    model.compile(cache=str(tmp_lib), raw_score=True)
    scorer = CompiledScorer(model_txt, tmp_lib)  # loaded from the private build folder
    os.replace(tmp_lib, library)
    scorer.library = library
    return scorer, patched


def _max_abs_diff(scorer: CompiledScorer, reference: LightGBMScorer, probe: np.ndarray) -> float:
    got = scorer.raw_score(probe, n_jobs=1)
    want = reference.raw_score(probe)
    diff = np.abs(got - want)
    if np.any(np.isnan(got) != np.isnan(want)):
        return float("inf")
    return float(np.nanmax(diff)) if diff.size else 0.0


def compile_booster(
    model_txt: Path, out_dir: Path, probe_X: np.ndarray | None, *, name: str | None = None
) -> CompiledInfo:
    """Compile a LightGBM text model into ``out_dir/<name>.o`` and write its sidecar JSON.

    ``probe_X`` (rows of real features, may be None) is extended by :func:`build_probe`; the
    library is kept only if its raw scores equal LightGBM's to ``TOLERANCE`` on that probe,
    otherwise the sidecar says ``backend: lightgbm`` and a warning is logged. The probe file
    written next to the library holds only the synthetic rows.
    """
    model_txt, out_dir = Path(model_txt), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = name or model_txt.stem
    versions = dict(_versions())
    probe = build_probe(model_txt, probe_X)
    probe_file = out_dir / f"{name}{PROBE_SUFFIX}"
    # Stored for re-checks after a recompile: synthetic rows only, never patients' rows.
    _write_npy_atomic(probe_file, build_probe(model_txt, probe_X, include_data=False))
    library = out_dir / f"{name}{LIBRARY_SUFFIX}"
    info = CompiledInfo(
        name=name, backend="lightgbm", model_sha256=sha256_file(model_txt), library=None,
        library_sha256=None, cpu=host_cpu(), lleaves_version=versions["lleaves"],
        llvmlite_version=versions["llvmlite"], lightgbm_version=versions["lightgbm"],
        probe=probe_file.name, probe_rows=len(probe), max_abs_diff=None,
    )
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".compile-") as work:
        try:
            scorer, info.objective_patched = _compile_to(model_txt, library, Path(work))
            info.max_abs_diff = _max_abs_diff(scorer, LightGBMScorer(model_txt), probe)
        except Exception as error:  # any compiler failure: serve with LightGBM instead
            info.reason = f"compilation failed: {type(error).__name__}: {error}"
    if info.reason is None and info.max_abs_diff is not None and info.max_abs_diff <= TOLERANCE:
        info.backend = "compiled"
        info.library = library.name
        info.library_sha256 = sha256_file(library)
        signed = trust.sign_library(info.to_dict())  # only the compile step signs
        if signed is None:
            log.warning("%s: no local key (%s): this library will be compiled again on load",
                        name, trust.key_path())
        else:
            info.key_id, info.mac = signed
    else:
        if info.reason is None:
            info.reason = (f"compiled scores differ from LightGBM by {info.max_abs_diff:.3g} "
                           f"> {TOLERANCE:g} on the probe")
        library.unlink(missing_ok=True)
        log.warning("%s: falling back to LightGBM: %s", name, info.reason)
    write_json(out_dir / f"{name}{SIDECAR_SUFFIX}", info.to_dict(), newline=False)
    return info


def read_info(compiled_dir: Path, name: str) -> CompiledInfo | None:
    """The sidecar of ``name`` in ``compiled_dir``, or None when there is none."""
    path = Path(compiled_dir) / f"{name}{SIDECAR_SUFFIX}"
    if not path.exists():
        return None
    return CompiledInfo.from_dict(json.loads(path.read_text()))


def _built_for_here(info: CompiledInfo, cpu: dict) -> bool:
    """Same CPU (name, features, machine) and same lleaves/llvmlite as this process."""
    versions = _versions()
    same_cpu = all(info.cpu.get(k) == cpu.get(k) for k in ("name", "features", "machine"))
    return (same_cpu and info.lleaves_version == versions["lleaves"]
            and info.llvmlite_version == versions["llvmlite"])


def load_scorer(
    model_txt: Path,
    compiled_dir: Path | None,
    name: str,
    backend: str = "compiled",
    cache: Path | None = None,
) -> RawScorer:
    """The raw scorer for ``model_txt``: its compiled library when valid here, else LightGBM.

    Raises :class:`InputError` when the library's recorded model hash differs from the model
    file (a tampered or mixed-up bundle). Rebuilds into ``cache`` (default :func:`cache_dir`)
    when the library was built for another CPU or lleaves/llvmlite version, or is absent.
    """
    model_txt = Path(model_txt)
    if backend == "lightgbm":
        return LightGBMScorer(model_txt)
    if backend != "compiled":
        raise InputError(f"unknown backend {backend!r} (use 'compiled' or 'lightgbm')")
    model_sha = sha256_file(model_txt)
    info = read_info(compiled_dir, name) if compiled_dir is not None else None
    if info is not None and info.model_sha256 != model_sha:
        raise InputError(
            f"compiled library for {name!r} was built from a different model file "
            "(sha256 mismatch); refusing to load it", file=Path(compiled_dir) / info.name)
    if info is not None and info.backend != "compiled":
        log.warning("%s: no compiled library (%s); using LightGBM", name, info.reason)
        return LightGBMScorer(model_txt)
    current = host_cpu()
    library = Path(compiled_dir) / info.library if info is not None and info.library else None
    if info is not None and library is not None and _built_here(info, library) \
            and _built_for_here(info, current):
        return _load_checked(model_txt, library, info.library_sha256, name)
    probe = None
    if info is not None and info.probe and compiled_dir is not None:
        probe_path = Path(compiled_dir) / info.probe
        if probe_path.exists():
            probe = np.load(probe_path, allow_pickle=False)
    target = cache or cache_dir()
    try:
        return _rebuild_in_cache(model_txt, model_sha, name, probe, current, target)
    except OSError as error:  # e.g. a read-only home: still predict, just slower
        log.warning("%s: cannot compile into %s (%s); using LightGBM", name, target,
                    type(error).__name__)
        return LightGBMScorer(model_txt)


def _rebuild_in_cache(
    model_txt: Path, model_sha: str, name: str, probe: np.ndarray | None, cpu: dict,
    cache: Path,
) -> RawScorer:
    """Reuse or build a library for this CPU in the user cache (never inside the bundle)."""
    target = json.dumps({"cpu": cpu, **_versions()}, sort_keys=True)
    cpu_key = hashlib.sha256(target.encode()).hexdigest()[:12]
    key = f"{name}-{model_sha[:16]}-{cpu_key}"
    cache.mkdir(parents=True, exist_ok=True)
    cached = read_info(cache, key)
    if (cached is not None and cached.backend == "compiled" and cached.model_sha256 == model_sha
            and _built_for_here(cached, cpu) and cached.library
            and (cache / cached.library).exists()
            and _built_here(cached, cache / cached.library)):
        try:
            return _load_checked(model_txt, cache / cached.library, cached.library_sha256, name)
        except InputError:  # a damaged cache entry is rebuilt, not an error
            log.warning("%s: cached library does not match its sidecar; rebuilding", name)
    log.info("%s: compiling for this CPU into %s", name, cache)
    # Compile in a private folder, then move library and sidecar into the shared cache.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as work:
        built = compile_booster(model_txt, Path(work), probe, name=key)
        if built.backend != "compiled":
            return LightGBMScorer(model_txt)
        os.replace(Path(work) / built.library, cache / built.library)
        os.replace(Path(work) / f"{key}{PROBE_SUFFIX}", cache / f"{key}{PROBE_SUFFIX}")
        os.replace(Path(work) / f"{key}{SIDECAR_SUFFIX}", cache / f"{key}{SIDECAR_SUFFIX}")
    return _load_checked(model_txt, cache / built.library, built.library_sha256, name)


def _built_here(info: CompiledInfo, library: Path) -> bool:
    """The sidecar's MAC verifies with this user's key: this machine's compile step made it."""
    status = trust.library_status(info.to_dict())
    if status == "forged":
        log.warning("%s: the compiled library's sidecar claims this machine's key but its MAC "
                    "is wrong (tampered); compiling the text model instead", library)
    elif status == "elsewhere":
        log.info("%s: compiled elsewhere; compiling the text model for this machine", library)
    return status == "built_here"


def _load_checked(model_txt: Path, library: Path, expected_sha256: str | None,
                  name: str) -> CompiledScorer:
    """Load ``library`` from a private copy of bytes whose sha256 is ``expected_sha256``.

    Why: lleaves reads the object file by path when it links it; copying the checked bytes
    into a private folder first means a file replaced after the check is never executed.
    """
    try:
        data = Path(library).read_bytes()
    except OSError:
        data = None
    if data is None or hashlib.sha256(data).hexdigest() != expected_sha256:
        raise InputError(f"compiled library for {name!r} is missing or does not match its "
                         "recorded sha256", file=library)
    with tempfile.TemporaryDirectory(prefix="predictor-lib-") as private:  # mode 0700
        copy = Path(private) / "library.o"
        copy.write_bytes(data)
        scorer = CompiledScorer(model_txt, copy)
    scorer.library = Path(library)
    return scorer


def clear_cache(cache: Path | None = None) -> None:
    """Remove every library rebuilt for this machine (they are rebuilt on demand)."""
    shutil.rmtree(cache or cache_dir(), ignore_errors=True)
