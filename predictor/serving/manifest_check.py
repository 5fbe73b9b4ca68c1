"""The shape of ``bundle.yaml``: every key the loader and ``predict`` use has the type it
needs, so an edited or damaged manifest fails with one line naming the key, not a traceback.

Why a module of its own: :mod:`predictor.serving.bundle` says what a bundle holds and whether
its files are intact; this says only whether the manifest can be interpreted at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from predictor.errors import InputError


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(_text(v) for v in value)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: value is None or check(value)


TOP_LEVEL: dict[str, tuple[Callable[[Any], bool], str]] = {
    "format_version": (lambda v: isinstance(v, int) and not isinstance(v, bool),
                       "a whole number"),
    "heads": (_texts, "a list of head names"),
    "head_info": (lambda v: isinstance(v, dict), "a mapping"),
    "files": (lambda v: isinstance(v, dict) and all(_text(k) and _text(d)
                                                     for k, d in v.items()),
              "a mapping of file names to sha256 digests"),
    "threshold": (_optional(_number), "a number"),
    "horizons_months": (_optional(lambda v: isinstance(v, list)
                                  and all(_number(h) for h in v)), "a list of numbers"),
    "training_profile": (_optional(_text), "a file name"),
    "regimens": (_optional(_text), "a file name"),
    "input_mapping": (_optional(lambda v: isinstance(v, dict)), "a mapping"),
    "label_rule": (_optional(lambda v: isinstance(v, dict)), "a mapping"),
    "expected_inputs": (_optional(lambda v: isinstance(v, dict)), "a mapping"),
    "metadata": (_optional(lambda v: isinstance(v, dict)), "a mapping"),
    "feature_names": (_optional(_texts), "a list of names"),
    "categorical_features": (_optional(_texts), "a list of names"),
}
HEAD_INFO: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dir": (_text, "a folder name"),
    "model_file": (_text, "a file name"),
    "feature_names": (_texts, "a list of feature names"),
}


def check_manifest_shape(manifest: dict, path: Path) -> None:
    """Raise one :class:`InputError` naming the first key of ``manifest`` of the wrong type."""
    for key, (ok, what) in TOP_LEVEL.items():
        if key in manifest and not ok(manifest[key]):
            raise InputError(f"bundle.yaml key {key!r} must be {what}", file=path)
    for head in manifest.get("heads") or []:
        info = (manifest.get("head_info") or {}).get(head)
        if not isinstance(info, dict):
            raise InputError(f"bundle.yaml has no head_info for head {head!r}", file=path)
        for key, (ok, what) in HEAD_INFO.items():
            if not ok(info.get(key)):
                raise InputError(f"bundle.yaml key 'head_info: {head}: {key}' must be {what}",
                                 file=path)
