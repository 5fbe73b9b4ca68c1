"""MLflow tag names that other layers read back. Standard library only: serving imports it on
the compiled prediction path (``serving.trust``, ``serving.bundle``) without loading MLflow."""

from __future__ import annotations

# Run and model-version tag holding the bundle's canonical manifest sha256
# (``serving.trust.manifest_sha256``), recorded at registration and checked on load.
MANIFEST_TAG = "predictor.manifest_sha256"
