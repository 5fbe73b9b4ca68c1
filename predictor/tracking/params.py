"""Turn a resolved config into MLflow params, and keep patient identifiers out of params/tags.

MLflow params are flat ``key -> str`` pairs of at most 500 characters; the Hydra config is a
nested tree, so keys are dotted paths (``model.response.num_leaves``). A value that mentions a
patient id (a config typo, a subset list) is redacted, because params and tags are visible to
everyone who can read the tracking server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_PARAM_LENGTH = 500
REDACTED = "<redacted: contains a patient id>"
_TOKEN = re.compile(r"[^\s,;:'\"\[\]{}()=]+")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> ``{"a.b.c": value}``; lists stay values (one param per list)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            if value:
                flat.update(flatten(value, name))
            else:
                flat[name] = "{}"
        else:
            flat[name] = value
    return flat


def to_param_value(value: Any) -> str:
    """A param value as text, truncated to MLflow's limit with a visible marker."""
    text = "None" if value is None else str(value)
    if len(text) > MAX_PARAM_LENGTH:
        marker = "...[truncated]"
        text = text[: MAX_PARAM_LENGTH - len(marker)] + marker
    return text


def mentions_any(text: str, identifiers: set[str]) -> bool:
    """Whether a token of ``text`` (or the whole text) is one of ``identifiers``."""
    if not identifiers:
        return False
    if text in identifiers:
        return True
    return any(token in identifiers for token in _TOKEN.findall(text))


def identifier_set(identifiers: Iterable[Any]) -> set[str]:
    """Ids worth redacting. Purely numeric ids (row numbers such as Chowell's ``SAMPLE_ID``)
    are left out: they identify nobody and would match every number in the config."""
    return {text for text in (str(i).strip() for i in identifiers)
            if text and not text.replace(".", "", 1).isdigit()}


def config_params(config: Mapping[str, Any], identifiers: Iterable[str] = ()) -> dict[str, str]:
    """Flattened params of a (plain, resolved) config; values naming a patient are redacted."""
    ids = identifier_set(identifiers)
    params: dict[str, str] = {}
    for key, value in flatten(config).items():
        text = to_param_value(value)
        params[key] = REDACTED if mentions_any(text, ids) else text
    return params


def safe_tags(tags: Mapping[str, Any], identifiers: Iterable[str] = ()) -> dict[str, str]:
    """Tags as text, with any value that names a patient redacted."""
    ids = identifier_set(identifiers)
    out: dict[str, str] = {}
    for key, value in tags.items():
        if value is None:
            continue
        text = str(value)
        out[key] = REDACTED if mentions_any(text, ids) else text
    return out
