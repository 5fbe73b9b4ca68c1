"""Local trust in model bundles: native code only if this machine built it, a manifest only if
this machine wrote it, a user vouched for it, or the MLflow registry recorded it.

Why: a bundle is a folder anyone may have edited. ``bundle.yaml`` lists the sha256 of every
file, but whoever edits a file can update that list too, and a compiled library is machine
code. So trust comes from outside the bundle: a per-user secret key (``bundle.key``, 32 random
bytes, mode 0600 in the user's config dir, never inside a bundle) that

- MACs every compiled library's sidecar when this machine compiles it (a library whose
  sidecar MAC does not verify is never loaded: the text model is compiled again into the user
  cache and checked on the probe);
- MACs the canonical form of ``bundle.yaml`` (``bundle.sig`` next to it) when this machine
  writes a bundle (training, ``predictor recalibrate``);
- MACs the entries of the local trust list (``trusted_bundles.json``), which
  ``predictor trust --model ... --yes`` adds a manifest hash to after the user has seen its
  settings.

A ``models:/`` (``runs:/``) bundle is also accepted when its manifest hash equals the
``predictor.manifest_sha256`` tag of the model version (run) recorded at registration.
Standard library only: this module is on the compiled prediction path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from predictor.errors import InputError

CONFIG_ENV = "PREDICTOR_CONFIG_DIR"
KEY_FILE = "bundle.key"
TRUST_FILE = "trusted_bundles.json"
SIGNATURE_FILE = "bundle.sig"
MANIFEST_FILE = "bundle.yaml"
SIGNATURE_FORMAT = "predictor-bundle-signature"
_PURPOSE_MANIFEST = b"predictor manifest v1"
_PURPOSE_LIBRARY = b"predictor compiled library v1"
_PURPOSE_TRUSTED = b"predictor trusted manifest v1"
_MAC_FIELDS = ("key_id", "mac")


# ---------------------------------------------------------------------------- the key
class NoKeyYet(InputError):
    """No key has been made on this machine yet (so nothing was signed with it)."""


def config_dir() -> Path:
    """``$PREDICTOR_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/predictor``, else ~/.config/predictor."""
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "predictor"


def key_path() -> Path:
    return config_dir() / KEY_FILE


def local_key(create: bool = True) -> bytes:
    """This user's secret key, created (0600, in a 0700 folder) on first use.

    Raises :class:`InputError` when it cannot be read or created, or when others can read it
    (then it is not secret any more).
    """
    path = key_path()
    try:
        return _read_key(path)
    except FileNotFoundError:
        if not create:
            raise NoKeyYet("no local bundle key yet", file=path) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return _read_key(path)
    except OSError as error:
        raise InputError(f"cannot create the local bundle key ({type(error).__name__}); set "
                         f"{CONFIG_ENV} to a private writable folder", file=path) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the local bundle key ({type(error).__name__})",
                         file=path) from None
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
        raise InputError("the local bundle key is readable by others; run chmod 600 on it "
                         "(or delete it: bundles signed with it must then be trusted again)",
                         file=path)
    if len(text) < 64 or not all(c in "0123456789abcdef" for c in text):
        raise InputError("the local bundle key is not 64 hex digits (delete it to make a new "
                         "one)", file=path)
    return bytes.fromhex(text)


def key_id(key: bytes) -> str:
    """A public name of the key (so a MAC made elsewhere is told apart from a forged one)."""
    return hashlib.sha256(b"predictor key id\0" + key).hexdigest()[:16]


def _mac(key: bytes, purpose: bytes, payload: bytes) -> str:
    return hmac.new(key, purpose + b"\0" + payload, hashlib.sha256).hexdigest()


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=str).encode("ascii")


# ---------------------------------------------------------------------------- libraries
def sign_library(sidecar: Mapping) -> tuple[str, str] | None:
    """(key id, MAC) over a compiled library's sidecar (its library and model sha256, CPU and
    versions): made only by the compile step. None when no key is available."""
    try:
        key = local_key()
    except InputError:
        return None
    payload = _canonical({k: v for k, v in sidecar.items() if k not in _MAC_FIELDS})
    return key_id(key), _mac(key, _PURPOSE_LIBRARY, payload)


def _local_key_named(claimed: object) -> bytes | None:
    """This machine's key when a MAC claims it (its ``key_id``); None when there is no local
    key yet or the MAC was made with another one (made elsewhere)."""
    try:
        key = local_key(create=False)
    except NoKeyYet:
        return None
    return key if claimed == key_id(key) else None


def library_status(sidecar: Mapping) -> str:
    """``built_here`` (MAC valid with the local key), ``elsewhere`` (no MAC, or another key's)
    or ``forged`` (claims the local key, MAC wrong)."""
    mac = sidecar.get("mac")
    if not mac:
        return "elsewhere"
    key = _local_key_named(sidecar.get("key_id"))
    if key is None:
        return "elsewhere"
    payload = _canonical({k: v for k, v in sidecar.items() if k not in _MAC_FIELDS})
    return "built_here" if hmac.compare_digest(mac, _mac(key, _PURPOSE_LIBRARY, payload)) \
        else "forged"


# ---------------------------------------------------------------------------- manifests
def manifest_sha256(manifest: Mapping) -> str:
    """sha256 of the manifest's canonical form (sorted-key compact JSON of the parsed YAML):
    independent of YAML layout, changed by any value."""
    return hashlib.sha256(_canonical(dict(manifest))).hexdigest()


def read_manifest_data(bundle_dir: Path) -> dict:
    """``bundle.yaml`` parsed, or a one-line :class:`InputError` naming it (unreadable, not
    UTF-8, not YAML, not a mapping); ``serving.bundle.read_manifest`` checks the rest."""
    import yaml

    from predictor import yamlfile

    path = Path(bundle_dir) / MANIFEST_FILE
    try:
        data = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"cannot read the bundle manifest ({type(error).__name__})",
                         file=path) from None
    if not isinstance(data, dict):
        raise InputError("not a predictor-bundle manifest", file=path)
    return data


def bundle_manifest_sha256(bundle_dir: Path) -> str:
    """The canonical manifest hash of a bundle folder (what registration records)."""
    return manifest_sha256(read_manifest_data(bundle_dir))


def sign_bundle(bundle_dir: Path) -> None:
    """Write ``bundle.sig``: the local key's MAC over the canonical ``bundle.yaml`` (as written).

    Called by the code that writes a bundle on this machine, never on a bundle given to it.
    """
    from predictor.files import write_text_atomic

    digest = bundle_manifest_sha256(bundle_dir)
    key = local_key()
    signature = {"format": SIGNATURE_FORMAT, "version": 1, "key_id": key_id(key),
                 "manifest_sha256": digest,
                 "mac": _mac(key, _PURPOSE_MANIFEST, digest.encode("ascii"))}
    write_text_atomic(Path(bundle_dir) / SIGNATURE_FILE, json.dumps(signature, indent=1) + "\n")


def signature_status(bundle_dir: Path, digest: str) -> str:
    """``valid``, ``missing``, ``elsewhere`` (another key) or ``changed`` (the local key signed
    another manifest: bundle.yaml was edited after signing, or the signature forged)."""
    path = Path(bundle_dir) / SIGNATURE_FILE
    try:
        signature = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "missing"
    except (OSError, UnicodeDecodeError, ValueError):
        return "changed"
    if not isinstance(signature, dict) or signature.get("format") != SIGNATURE_FORMAT:
        return "changed"
    key = _local_key_named(signature.get("key_id"))
    if key is None:
        return "elsewhere"
    expected = _mac(key, _PURPOSE_MANIFEST, digest.encode("ascii"))
    return "valid" if hmac.compare_digest(str(signature.get("mac")), expected) else "changed"


# ---------------------------------------------------------------------------- trust list
def _trust_path() -> Path:
    return config_dir() / TRUST_FILE


def _read_trust_list() -> dict:
    try:
        data = json.loads(_trust_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return entries if isinstance(entries, dict) else {}


def trusted_locally(digest: str) -> bool:
    """The user ran ``predictor trust --yes`` on a manifest with this canonical hash."""
    entry = _read_trust_list().get(digest)
    if not isinstance(entry, dict):
        return False
    try:
        key = local_key(create=False)
    except NoKeyYet:
        return False
    expected = _mac(key, _PURPOSE_TRUSTED, digest.encode("ascii"))
    return hmac.compare_digest(str(entry.get("mac")), expected)


def trust_manifest(digest: str, source: str) -> Path:
    """Add a manifest hash to the local trust list (0600); return the list's path."""
    from predictor.files import write_text_atomic

    key = local_key()
    entries = _read_trust_list()
    entries[digest] = {"mac": _mac(key, _PURPOSE_TRUSTED, digest.encode("ascii")),
                       "source": str(source),
                       "trusted_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = _trust_path()
    write_text_atomic(path, json.dumps({"entries": entries}, indent=1, sort_keys=True) + "\n")
    os.chmod(path, 0o600)
    return path


# ---------------------------------------------------------------------------- the check
def trust_source(bundle_dir: Path, manifest: Mapping, *, registry_sha256: str | None = None,
                 verified_sha256: str | None = None) -> str | None:
    """Why this manifest is trusted here (``signed here``, ``trusted by the user``, ``MLflow
    registry``, ``verified by the caller``), or None when it is not."""
    digest = manifest_sha256(manifest)
    if verified_sha256 is not None:
        return "verified by the caller" if hmac.compare_digest(digest, verified_sha256) else None
    if registry_sha256 is not None:
        return "MLflow registry" if hmac.compare_digest(digest, registry_sha256) else None
    if signature_status(bundle_dir, digest) == "valid":
        return "signed here"
    if trusted_locally(digest):
        return "trusted by the user"
    return None


def check_manifest(bundle_dir: Path, manifest: Mapping, *, source: str,
                   registry_sha256: str | None = None,
                   verified_sha256: str | None = None) -> str:
    """Raise a one-line :class:`InputError` unless the manifest is trusted (see module doc)."""
    why = trust_source(bundle_dir, manifest, registry_sha256=registry_sha256,
                       verified_sha256=verified_sha256)
    if why is not None:
        return why
    digest = manifest_sha256(manifest)
    hint = f"review its settings and trust it with `predictor trust --model {source}`"
    if verified_sha256 is not None:
        raise InputError("bundle.yaml changed since it was checked; refusing it", file=source)
    if registry_sha256 is not None:
        raise InputError("bundle.yaml does not match the manifest hash recorded in the MLflow "
                         "registry (changed after registration); refusing it", file=source)
    status = signature_status(bundle_dir, digest)
    if status == "changed":
        raise InputError("bundle.yaml was changed after this machine signed it; refusing it "
                         f"({hint})", file=source)
    raise InputError("bundle.yaml is not signed on this machine (made elsewhere, or edited); "
                     f"refusing it ({hint})", file=source)
