"""``predictor-train``: the Hydra training app (``python -m predictor.train [overrides]``).

A thin shell: Hydra composes ``conf/`` (plus ``+experiment=NAME`` from ``experiments/``; in an
installed wheel, the packaged copy of both, see :mod:`predictor.resources`), this
module hands the config to :func:`predictor.training.run_training`, prints a short summary and
``model_uri: <uri>`` as the last line of stdout, and returns the objective (the CV response AUC
by default) so that sweepers such as Optuna can optimise it.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from predictor.errors import InputError
from predictor.resources import config_dir

# The checkout's ``conf/`` or the wheel's copy, as an absolute path: Hydra resolves a relative
# config_path against the *module name* when started from the console script (``pkg://conf``,
# not found), and against the file only under ``python -m``; an absolute path works for both.
CONFIG_DIR = str(config_dir())


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Train, evaluate, log and register one configuration."""
    from predictor.files import exit_cleanly_on_sigterm
    from predictor.training import run_training

    exit_cleanly_on_sigterm()
    try:
        result = run_training(cfg)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(InputError.exit_code)
    print(result.summary(), flush=True)
    print(f"model_uri: {result.model_uri}", flush=True)
    return result.objective


if __name__ == "__main__":
    main()
