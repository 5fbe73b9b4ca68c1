"""Where the shipped files (Hydra configs, knowledge base) are, and how config paths resolve.

Two layouts run the same code:

- a source checkout (``make``: editable install): ``conf/`` and ``experiments/`` at the top of
  the repository are the single source of truth, and ``conf/experiment`` links to
  ``experiments/``;
- an installed wheel (``pip install .``): the build (``setup.py``) copies ``conf/`` into the
  package as ``predictor/_resources/conf``; the demo cohort ``data/demo`` is not shipped.

:func:`resource_root` is the folder that holds ``conf/`` in either layout, so a relative config
path such as ``conf/knowledge/drugs.yaml`` means the same in both.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_ROOT = PACKAGE_DIR / "_resources"

DEMO_COHORT = "data/demo"
DEMO_COMMAND = "predictor simulate --patients 1000 --seed 20261127 --out data/demo"


def source_checkout() -> Path | None:
    """The repository the package is imported from, or None for an installed wheel.

    A checkout is recognised by ``pyproject.toml`` and ``conf/config.yaml`` beside the package,
    so an unrelated ``conf/`` in site-packages is never taken for ours.
    """
    root = PACKAGE_DIR.parent
    if (root / "pyproject.toml").is_file() and (root / "conf" / "config.yaml").is_file():
        return root
    return None


def resource_root() -> Path:
    """The folder holding ``conf/``: the checkout when there is one, else the packaged copy."""
    return source_checkout() or PACKAGED_ROOT


def config_dir() -> Path:
    """The Hydra config folder (``conf/``, with the ``experiment`` group), as an absolute path."""
    return resource_root() / "conf"


def resolve_user_path(path: str | Path) -> Path:
    """A path from a config or the command line, as the user most likely meant it.

    Absolute paths are kept. A relative path is taken from the working directory when it exists
    there (the user's own cohorts and mappings), else from :func:`resource_root` when it exists
    there (shipped defaults such as ``conf/mappings/chowell_icb.yaml``, or ``data/demo`` in a
    checkout, whatever the working directory). When it exists in neither, the working-directory
    path is returned, so that the reader's own one-line "not found" error names the path the
    user would look for.
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    here = Path.cwd() / p
    if here.exists():
        return here
    shipped = resource_root() / p
    return shipped if shipped.exists() else here


def is_demo_cohort(path: str | Path | None) -> bool:
    """Whether a configured cohort path is the demo cohort (which a wheel does not ship)."""
    return path not in (None, "") and Path(str(path)) == Path(DEMO_COHORT)
