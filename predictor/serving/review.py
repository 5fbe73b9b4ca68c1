"""``predictor trust``: show what a bundle from elsewhere would decide, then trust it locally.

Why: a bundle made on another machine (a colleague's, a download) is not signed by this
user's key, so loading it is refused until the user has looked at the settings that change
every prediction (threshold, horizons, input mapping, features, label rule) and confirmed them
with ``--yes``. Trust covers the manifest and, through its sha256 list, the text model and JSON
files; compiled libraries are never trusted from a bundle (they are compiled again here).
"""

from __future__ import annotations

import json
import shutil

from predictor.errors import InputError
from predictor.serving import trust


def _compact(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def summary_lines(manifest: dict, digest: str, status: str) -> list[str]:
    """The settings a user vouches for, one per line."""
    meta = manifest.get("metadata") or {}
    features = manifest.get("feature_names") or []
    lines = [
        f"model: {meta.get('name', '?')} (written {manifest.get('created_utc', '?')} by "
        f"predictor {manifest.get('predictor_version', '?')})",
        f"manifest sha256: {digest}",
        f"trust here: {status}",
        f"heads: {', '.join(manifest.get('heads') or []) or 'none'}",
        f"threshold: {manifest.get('threshold')}",
        f"horizons (months): {_compact(manifest.get('horizons_months') or [])}",
        f"label rule: {_compact(manifest.get('label_rule'))}",
        f"input mapping: {_compact(manifest.get('input_mapping'))}",
        f"features ({len(features)}): {', '.join(str(f) for f in features)}",
        f"categorical features: {', '.join(manifest.get('categorical_features') or []) or 'none'}",
    ]
    for head, info in (manifest.get("head_info") or {}).items():
        names = info.get("feature_names") or []
        lines.append(f"{head} head: {info.get('model_file')} on {len(names)} features")
    record = manifest.get("recalibration")
    if record:
        parent = record.get("parent") or {}
        lines.append(f"recalibrated from {parent.get('uri', '?')} ({record.get('method', '?')})")
    lines.append("compiled libraries: used only if this machine built them, else compiled "
                 "again from the text model on first use")
    return lines


def run_trust(model_uri: str, confirm: bool) -> str:
    """Show ``model_uri``'s key settings; with ``confirm``, add its manifest to the local trust
    list. Returns the text to print."""
    from predictor.serving.bundle import origin, read_manifest, resolve_bundle_dir, verify_files

    bundle_dir, download = resolve_bundle_dir(model_uri)
    try:
        manifest = read_manifest(bundle_dir)
        verify_files(bundle_dir, manifest)  # the files match the manifest being vouched for
        digest = trust.manifest_sha256(manifest)
        _, recorded = origin(bundle_dir)
        if recorded is not None and recorded != digest:
            raise InputError("bundle.yaml does not match the manifest hash recorded in the "
                             "MLflow registry (changed after registration); not trusting it",
                             file=model_uri)
        why = trust.trust_source(bundle_dir, manifest, registry_sha256=recorded)
        if why is None:
            signature = trust.signature_status(bundle_dir, digest)
            why = {"changed": "no: bundle.yaml changed after this machine signed it",
                   "elsewhere": "no: signed by another machine's key",
                   "missing": "no: not signed"}[signature]
        lines = summary_lines(manifest, digest, why)
        if confirm:
            path = trust.trust_manifest(digest, model_uri)
            lines.append(f"trusted: this manifest is now accepted on this machine (recorded in "
                         f"{path})")
        elif why.startswith("no"):
            lines.append(f"not trusted yet: if these settings are what you expect, run "
                         f"`predictor trust --model {model_uri} --yes`")
    finally:
        if download is not None:
            shutil.rmtree(download, ignore_errors=True)
    return "\n".join(lines)
