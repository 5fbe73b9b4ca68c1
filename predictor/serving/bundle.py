"""The model bundle: one self-describing directory with everything prediction needs.

Layout (see docs/ARCHITECTURE.md)::

    bundle.yaml          format version, input mapping, label rule, horizons, threshold,
                         feature names, sha256 of every file, training fingerprint, metadata
    features.json        FeaturePipeline.to_state()
    response/            ResponseModel.save(): model.txt, calibration.json, response.json
    relapse/             RelapseModel.save(): model.txt, baseline hazard JSON, ...
    compiled/            lleaves objects + sidecars (model hash, CPU, versions) + probes
    training_profile.json  per-feature training range and missing share (input shift check)
    regimens.json        the regimens training saw per cancer type (+ the propensity model):
                         the candidates of ``predict --regimens all`` (serving.regimens)
    MODEL_CARD.md        what the model predicts, from what, how well, and its limits

    bundle.sig           MAC of bundle.yaml's canonical form with the local key (serving.trust)

Why: a bundle is written atomically (built in a temp dir, then renamed), verified on load
(``bundle.yaml`` signed on this machine, trusted by the user or recorded in the MLflow registry;
then the sha256 of every file) and contains no pickle, so it can be shared and audited.
Compiled libraries are loaded only if this machine built them (see ``serving.compiled``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Mapping
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from predictor import yamlfile
from predictor.errors import InputError
from predictor.files import write_text_atomic
from predictor.models.heads import HEADS, RELAPSE, RESPONSE
from predictor.models.io import read_json
from predictor.plain import plain
from predictor.serving import compiled as C
from predictor.serving import trust
from predictor.serving.inputs import used_inputs
from predictor.serving.manifest_check import check_manifest_shape
from predictor.serving.model_card import CARD_FILE, render_model_card
from predictor.serving.predictor import Head, Predictor, model_matrix
from predictor.serving.shift import PROFILE_FILE, ShiftMonitor, training_profile

log = logging.getLogger(__name__)

MANIFEST = "bundle.yaml"
FEATURES_FILE = "features.json"
MODEL_FILE = "model.txt"
COMPILED_DIR = "compiled"
FORMAT = "predictor-bundle"
FORMAT_VERSION = 1
REGIMENS_FILE = "regimens.json"
REGIMENS_FORMAT = "predictor-regimens"
BACKENDS = ("compiled", "lightgbm")


# ---------------------------------------------------------------------------- saving
def save_bundle(
    out_dir: str | Path,
    *,
    feature_pipeline: Any,
    heads: Mapping[str, Any],
    input_mapping: Mapping | None,
    label_rule: Mapping | None,
    horizons: Iterable[float] | None,
    metadata: Mapping | None = None,
    compile: bool = True,
    probe_cohort: Any | None = None,
    training_features: pd.DataFrame | None = None,
    regimens: Mapping | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a bundle to ``out_dir`` atomically and return its path.

    ``heads``: fitted models by head name (``predictor.models.heads.HEADS``; ``None`` values
    are left out), e.g. ``{"response": ResponseModel, "relapse": RelapseModel}``.
    ``probe_cohort`` (e.g. the training cohort) supplies real feature rows for the compiled
    core's equality check; synthetic rows covering NaN, thresholds and categories are always
    added. ``training_features`` (the final models' training matrix) gives the input-shift
    profile (aggregates only, see ``predictor.serving.shift``). ``regimens``: the regimen
    document (:func:`regimens_document`) written as ``regimens.json``; without it the bundle
    cannot score what-if regimens. Refuses a non-empty ``out_dir`` unless ``overwrite``.
    """
    out_dir = Path(out_dir)
    unknown = [name for name in heads if name not in HEADS]
    if unknown:
        raise ValueError(f"unknown model head(s) {unknown} (known: {', '.join(HEADS)})")
    heads = {name: heads[name] for name in HEADS if heads.get(name) is not None}
    if not heads:
        raise ValueError("a bundle needs at least one model head")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("bundle path exists and is not a folder", file=out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()):
        if not overwrite:
            raise InputError("bundle folder exists and is not empty (use overwrite)",
                             file=out_dir)
        if not (out_dir / MANIFEST).is_file():  # overwrite replaces bundles, nothing else
            raise InputError(f"folder is not empty and holds no {MANIFEST}; refusing to "
                             "replace it", file=out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        manifest = _write_contents(
            work, feature_pipeline=feature_pipeline,
            heads=heads,
            input_mapping=input_mapping, label_rule=label_rule, horizons=horizons,
            metadata=metadata, compile=compile, probe_cohort=probe_cohort,
            training_features=training_features, regimens=regimens)
        write_text_atomic(work / MANIFEST, yaml.safe_dump(manifest, sort_keys=False))
        trust.sign_bundle(work)  # written here, so trusted here with no extra step
        make_readable(work)
        _swap_into_place(work, out_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info("model bundle written (%s)", ", ".join(manifest["heads"]))
    return out_dir


def _write_contents(work: Path, *, feature_pipeline, heads, input_mapping, label_rule,
                    horizons, metadata, compile, probe_cohort, training_features,
                    regimens=None) -> dict:
    write_text_atomic(work / FEATURES_FILE,
                       json.dumps(plain(feature_pipeline.to_state()), indent=1, sort_keys=True))
    head_info: dict[str, dict] = {}
    for name, model in heads.items():
        model.save(work / name)
        if not (work / name / MODEL_FILE).is_file():
            raise RuntimeError(f"{type(model).__name__}.save() wrote no {MODEL_FILE}")
        head_info[name] = {"dir": name, "model_file": f"{name}/{MODEL_FILE}",
                           "feature_names": _head_features(model)}
    profile_file = None
    if training_features is not None:
        used = [n for info in head_info.values() for n in info["feature_names"]]
        profile = training_profile(training_features, used,
                                   getattr(feature_pipeline, "categorical_features_", []))
        write_text_atomic(work / PROFILE_FILE, json.dumps(profile, indent=1))
        profile_file = PROFILE_FILE
    regimens_file = None
    if regimens is not None:
        document = regimens_document(regimens.get("by_cancer_type") or {},
                                     regimens.get("propensity"))
        write_text_atomic(work / REGIMENS_FILE, json.dumps(plain(document), indent=1,
                                                           sort_keys=True))
        regimens_file = REGIMENS_FILE
    compiled_info: dict[str, dict] = {}
    expected_inputs = None
    probe_features = None
    if probe_cohort is not None:
        probe_features = feature_pipeline.transform(probe_cohort.without_outcomes())
        used = [n for info in head_info.values() for n in info["feature_names"]]
        expected_inputs = used_inputs(feature_pipeline, probe_cohort, used)
    if compile:
        for name, info in head_info.items():
            probe = None
            if probe_features is not None:
                probe = model_matrix(probe_features, info["feature_names"])
            built = C.compile_booster(work / info["model_file"], work / COMPILED_DIR, probe,
                                      name=name)
            compiled_info[name] = {"backend": built.backend, "max_abs_diff": built.max_abs_diff,
                                   "reason": built.reason}
    # The manifest's top-level threshold and horizons are the response and relapse heads'.
    horizons_list = _horizons(horizons, heads.get(RELAPSE))
    response = heads.get(RESPONSE)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "predictor_version": predictor_version(),
        "heads": list(head_info),
        "threshold": None if response is None else float(response.threshold_),
        "horizons_months": horizons_list,
        "input_mapping": plain(dict(input_mapping)) if input_mapping is not None else None,
        "label_rule": plain(dict(label_rule)) if label_rule is not None else None,
        "feature_names": [str(n) for n in feature_pipeline.get_feature_names_out()],
        "categorical_features": [str(n) for n in
                                 getattr(feature_pipeline, "categorical_features_", [])],
        "head_info": head_info,
        "compiled": compiled_info,
        "expected_inputs": expected_inputs,
        "training_profile": profile_file,
        "regimens": regimens_file,
        "training_fingerprint": (metadata or {}).get("fingerprint") or (
            probe_cohort.fingerprint() if probe_cohort is not None else None),
        "metadata": plain(dict(metadata or {})),
    }
    write_text_atomic(work / CARD_FILE, render_model_card(manifest))
    manifest["files"] = hash_tree(work)
    return manifest


def regimens_document(by_cancer_type: Mapping[str, Iterable[str]],
                      propensity: Mapping | None = None) -> dict:
    """The content of ``regimens.json``: ``by_cancer_type`` (cancer type -> sorted regimens
    given to it in training: the candidates of ``--regimens all``) and ``propensity`` (the
    training's regimen-propensity model state, ``RegimenPropensity.to_state()``, or None)."""
    return {"format": REGIMENS_FORMAT, "format_version": 1,
            "by_cancer_type": {str(ct): sorted({str(r) for r in regs})
                               for ct, regs in sorted(by_cancer_type.items())},
            "propensity": None if propensity is None else dict(propensity)}


def read_regimens(bundle_dir: Path, manifest: Mapping) -> dict | None:
    """A bundle's ``regimens.json`` (checked by :func:`verify_files`), or None for a bundle
    written before it existed."""
    name = manifest.get("regimens")
    if not name:
        return None
    path = Path(bundle_dir) / name
    document = read_json(path)
    by_type = document.get("by_cancer_type") if isinstance(document, dict) else None
    if (not isinstance(by_type, dict) or document.get("format") != REGIMENS_FORMAT
            or not all(isinstance(v, list) and all(isinstance(r, str) for r in v)
                       for v in by_type.values())):
        raise InputError(f"not a {REGIMENS_FORMAT} file (by_cancer_type: cancer type -> "
                         "list of regimens)", file=path)
    return document


def _head_features(model: Any) -> list[str]:
    names = getattr(model, "feature_names_", None)
    if names is None:
        names = model.booster_.feature_name()
    return [str(n) for n in names]


def _horizons(horizons: Iterable[float] | None, relapse_model: Any | None) -> list[float]:
    if relapse_model is None:
        return []
    if horizons is None:
        horizons = getattr(relapse_model, "horizons_months", None) or ()
    values = [float(h) for h in horizons]
    if any(not np.isfinite(h) or h <= 0 for h in values):
        raise InputError(f"relapse horizons must be positive months, got {values}")
    return values


def hash_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` except the manifest and its signature."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name not in (MANIFEST, trust.SIGNATURE_FILE):
            files[path.relative_to(root).as_posix()] = C.sha256_file(path)
    return files


def make_readable(root: Path) -> None:
    """Temp files and dirs are private (0600/0700); a bundle is meant to be shared."""
    os.chmod(root, 0o755)
    for path in root.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _swap_into_place(work: Path, out_dir: Path) -> None:
    """Rename the finished temp dir to ``out_dir`` (replacing an old bundle as late as possible)."""
    if out_dir.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
        os.replace(out_dir, trash / "bundle")
        try:
            os.replace(work, out_dir)
        except BaseException:
            os.replace(trash / "bundle", out_dir)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(work, out_dir)


def predictor_version() -> str:
    try:
        return importlib_metadata.version("predictor")
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------- loading
def resolve_bundle_dir(uri: str | Path) -> tuple[Path, Path | None]:
    """A local bundle dir for ``uri`` and, when it was downloaded, the temp dir to delete.

    ``uri``: a bundle folder (or a folder containing one, e.g. an MLflow pyfunc model),
    ``runs:/<run_id>/<path>`` or ``models:/<name>/<version>``.
    """
    text = str(uri)
    if text.startswith(("runs:/", "models:/")):
        from predictor.tracking.artifacts import download_bundle

        download, recorded = download_bundle(text, trust.MANIFEST_TAG)
        found = _find_bundle(download, text)
        _ORIGINS[str(found.resolve())] = (text, recorded)
        return found, download
    path = Path(text).expanduser()
    if not path.exists():
        raise InputError("model not found (give a bundle folder, runs:/ID/PATH or "
                         "models:/NAME/VERSION)", file=path)
    if not path.is_dir():
        raise InputError("a model must be a bundle folder, not a file", file=path)
    return _find_bundle(path, text), None


# Bundles downloaded in this process: resolved folder -> (URI, manifest hash the MLflow registry
# recorded, or None). Kept in memory so that nothing inside a download can claim an origin.
_ORIGINS: dict[str, tuple[str, str | None]] = {}


def origin(bundle_dir: Path) -> tuple[str, str | None]:
    """(what to call the bundle in messages, registry manifest hash or None)."""
    return _ORIGINS.get(str(Path(bundle_dir).resolve()), (str(bundle_dir), None))


def check_trust(bundle_dir: Path, manifest: dict, verified_sha256: str | None = None) -> str:
    """Refuse (one line, exit 2) a manifest this machine has no reason to trust."""
    source, recorded = origin(bundle_dir)
    return trust.check_manifest(bundle_dir, manifest, source=source, registry_sha256=recorded,
                                verified_sha256=verified_sha256)


def read_model_card(bundle_dir: Path) -> str:
    """A bundle's card: its ``MODEL_CARD.md``, or rendered from the manifest of a bundle
    written before cards existed. The manifest is checked first (format, version, trust) and
    the card against its sha256 in it."""
    manifest = read_manifest(bundle_dir)
    check_trust(bundle_dir, manifest)
    card = Path(bundle_dir) / CARD_FILE
    if card.is_file():
        digest = (manifest.get("files") or {}).get(CARD_FILE)
        if digest is not None and C.sha256_file(card) != digest:
            raise InputError("bundle file does not match its sha256 in bundle.yaml "
                             "(modified or corrupted)", file=card)
        return card.read_text(encoding="utf-8")
    return render_model_card({k: v for k, v in manifest.items() if k != "files"})


def _find_bundle(root: Path, uri: str) -> Path:
    if (root / MANIFEST).is_file():
        return root
    found = sorted(root.rglob(MANIFEST), key=lambda p: (len(p.parts), str(p)))
    if not found:
        raise InputError(f"no {MANIFEST} found: not a model bundle", file=uri)
    return found[0].parent


def read_manifest(bundle_dir: Path) -> dict:
    """Parse and check ``bundle.yaml`` (format and version)."""
    path = Path(bundle_dir) / MANIFEST
    try:
        manifest = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"cannot read the bundle manifest ({type(error).__name__})",
                         file=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"not a {FORMAT} manifest", file=path)
    check_manifest_shape(manifest, path)  # one line for an edited or damaged manifest
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise InputError(f"bundle format version {manifest.get('format_version')} is newer "
                         f"than this predictor reads ({FORMAT_VERSION})", file=path)
    return manifest


def verify_files(bundle_dir: Path, manifest: dict) -> None:
    """Every file listed in the manifest exists and has its recorded sha256."""
    for rel, digest in (manifest.get("files") or {}).items():
        path = Path(bundle_dir) / rel
        if not path.is_file():
            raise InputError("bundle file is missing", file=path)
        if C.sha256_file(path) != digest:
            raise InputError("bundle file does not match its sha256 in bundle.yaml "
                             "(modified or corrupted)", file=path)
    for head in manifest.get("heads", []):
        model_file = manifest["head_info"][head]["model_file"]
        if model_file not in (manifest.get("files") or {}):
            raise InputError(f"bundle.yaml lists no sha256 for {model_file}",
                             file=Path(bundle_dir) / MANIFEST)


def load_bundle(uri: str | Path, backend: str = "compiled") -> Predictor:
    """Load a bundle (local folder, ``runs:/`` or ``models:/`` URI) as a :class:`Predictor`."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r} (use 'compiled' or 'lightgbm')")
    bundle_dir, download = resolve_bundle_dir(uri)
    try:
        try:
            predictor = load_bundle_dir(bundle_dir, backend=backend)
        except (KeyError, TypeError, ValueError, AttributeError) as error:  # damaged contents
            raise InputError(f"the bundle's files cannot be interpreted ({type(error).__name__}:"
                             f" {str(error)[:120]})", file=bundle_dir / MANIFEST) from None
    except BaseException:
        if download is not None:
            shutil.rmtree(download, ignore_errors=True)
        raise
    if download is not None:
        weakref.finalize(predictor, shutil.rmtree, download, True)
    return predictor


def load_bundle_dir(bundle_dir: Path, backend: str = "compiled",
                    verified_sha256: str | None = None) -> Predictor:
    """Load a verified local bundle folder.

    ``verified_sha256``: the canonical manifest hash a caller has already checked (Dask workers
    get it from the client, whose key they may not share); without it the manifest must be
    trusted here (:func:`check_trust`).
    """
    from predictor.features.pipeline import FeaturePipeline

    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    check_trust(bundle_dir, manifest, verified_sha256)
    verify_files(bundle_dir, manifest)
    state = json.loads((bundle_dir / FEATURES_FILE).read_text(encoding="utf-8"))
    pipeline = FeaturePipeline.from_state(state)
    heads: dict[str, Head] = {}
    for name in manifest.get("heads", []):
        if name not in HEADS:  # a head this version does not know
            raise InputError(f"unknown model head {name!r} in bundle.yaml",
                             file=bundle_dir / MANIFEST)
        info = manifest["head_info"][name]
        model = HEADS[name].model_class().load(bundle_dir / info["dir"])
        scorer = C.load_scorer(bundle_dir / info["model_file"], bundle_dir / COMPILED_DIR,
                               name, backend=backend)
        heads[name] = Head(name=name, model=model, scorer=scorer,
                           feature_names=list(info["feature_names"]))
    threshold = manifest.get("threshold")
    profile = manifest.get("training_profile")  # absent in bundles written before it existed
    shift = ShiftMonitor(read_json(bundle_dir / profile)) if profile else None
    regimens = read_regimens(bundle_dir, manifest)
    return Predictor(
        pipeline=pipeline, heads={name: heads[name] for name in HEADS if name in heads},
        threshold=None if threshold is None else float(threshold),
        horizons=[float(h) for h in manifest.get("horizons_months") or []],
        manifest=manifest, bundle_dir=bundle_dir, shift=shift, regimens=regimens)

