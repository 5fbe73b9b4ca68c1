"""Build hook: put the Hydra configs into the wheel as ``predictor/_resources/conf``.

The top-level ``conf/`` (with ``conf/experiment`` a symlink to ``experiments/``) stays the one
copy in git; package data cannot reach outside the package folder, so ``build_py`` copies its
YAML files into the build, following the symlink so that the wheel's ``conf/experiment`` is a
real folder. Editable installs skip the copy: there the code reads ``conf/`` from the checkout
(see ``predictor/resources.py``). Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
CONF = "conf"
TARGET = Path("predictor", "_resources", CONF)


def config_files(conf: Path) -> list[Path]:
    """Every YAML file under ``conf``, paths relative to it, symlinked folders followed."""
    found = []
    for folder, _, names in os.walk(conf, followlinks=True):
        found += [Path(folder, name).relative_to(conf) for name in names
                  if name.endswith(".yaml")]
    return sorted(found)


class BuildPyWithConf(build_py):
    """``build_py`` that also copies ``conf/**/*.yaml`` into the package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / TARGET
        shutil.rmtree(target, ignore_errors=True)  # no stale configs from an earlier build
        for relative in config_files(ROOT / CONF):
            self.mkpath(str((target / relative).parent))
            self.copy_file(str(ROOT / CONF / relative), str(target / relative))


setup(cmdclass={"build_py": BuildPyWithConf})
