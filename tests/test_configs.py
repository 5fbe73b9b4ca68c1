"""Every option of every config group, and every named experiment, composes and instantiates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from predictor.evaluation.plan import EvaluationPlan
from predictor.models.baselines import RELAPSE_BASELINES, RESPONSE_BASELINES
from predictor.models.relapse import RelapseModel
from predictor.models.response import ResponseModel
from predictor.train import CONFIG_DIR
from predictor.training import CohortData, make_learners, resolve_path

CONF = Path(CONFIG_DIR)
ROOT = CONF.parent
GROUPS = ("data", "features", "model", "evaluation", "tracking", "hparams_search")
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
OPTIONS = [(group, p.stem) for group in GROUPS for p in sorted((CONF / group).glob("*.yaml"))]


def compose_with(overrides: list[str], hydra_config: bool = False) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides,
                       return_hydra_config=hydra_config)


def check_composed(cfg: DictConfig) -> None:
    """The objects the app builds can be built, and the data settings are coherent."""
    pipeline = instantiate(cfg.features)
    assert hasattr(pipeline, "fit") and hasattr(pipeline, "transform")
    response = instantiate(cfg.model.response)
    relapse = instantiate(cfg.model.relapse)
    assert isinstance(response, ResponseModel) and isinstance(relapse, RelapseModel)
    assert response.seed == cfg.seed and relapse.num_threads == cfg.num_threads
    assert type(relapse.horizons_months) is list  # plain types: model params go to JSON
    for head, registry in (("response", RESPONSE_BASELINES), ("relapse", RELAPSE_BASELINES)):
        for name, node in cfg.model.baselines[head].items():  # the catalogue knows each one
            assert node is None or registry[name].__module__ + "." + registry[name].__name__ \
                == node._target_, name
    for learner in make_learners(cfg):  # heads and baselines as the app builds them
        assert hasattr(learner.make(), "fit")
    data = instantiate(cfg.data)
    assert isinstance(data, CohortData)
    assert data.response_rule.source in ("best_response", "responder")
    assert data.relapse_endpoint in ("pfs", "os")
    assert 0.0 <= data.test_fraction < 1.0
    plan = instantiate(cfg.evaluation)
    assert isinstance(plan, EvaluationPlan) and plan.n_splits >= 2 and plan.n_boot >= 1
    assert str(cfg.optimized_metric).startswith("cv_")


def test_every_group_has_options_and_the_experiment_link_works() -> None:
    assert all((CONF / group).is_dir() for group in GROUPS)
    assert len(OPTIONS) >= 10
    assert {"demo_fast", "demo_no_clonal", "demo_landmark", "demo_pretreatment"} <= set(
        EXPERIMENTS)
    link = CONF / "experiment"
    assert link.is_symlink() and link.resolve() == (ROOT / "experiments").resolve()
    assert not Path(str(link.readlink())).is_absolute()  # works in any clone


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_group_option_composes_and_instantiates(group: str, option: str) -> None:
    cfg = compose_with([f"{group}={option}"], hydra_config=group == "hparams_search")
    check_composed(cfg)
    if group == "hparams_search":
        sweeper = cfg.hydra.sweeper
        assert sweeper.n_trials == 8 and sweeper.direction == "maximize"
        assert all(key.startswith("model.") for key in sweeper.params)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_instantiates(name: str) -> None:
    cfg = compose_with([f"+experiment={name}"])
    check_composed(cfg)
    assert cfg.name == name


def test_experiments_override_their_groups() -> None:
    fast = compose_with(["+experiment=demo_fast"])
    default = compose_with([])
    assert fast.model.response.n_estimators < default.model.response.n_estimators
    assert fast.evaluation.n_splits == 2
    ablation = compose_with(["+experiment=demo_no_clonal"])
    assert ablation.features.families.clonal.enabled is False
    assert default.features.families.clonal.enabled is True
    assert ablation.features.families.monitoring.enabled is False  # as the default run
    pretreatment = compose_with(["+experiment=demo_pretreatment"])
    assert pretreatment.features.families.monitoring.enabled is False
    assert default.features.families.monitoring.enabled is False  # the default is pre-treatment
    landmark = compose_with(["+experiment=demo_landmark"])
    assert landmark.features.families.monitoring.enabled is True
    assert landmark.features.families.monitoring.landmark_day == 42
    assert landmark.data.landmark_day == 42  # the relapse target is the landmark one
    assert default.data.landmark_day is None
    assert default.model.response.calibration == "centered_isotonic"


def test_default_run_is_the_demo_cohort_with_both_heads() -> None:
    cfg = compose_with([])
    assert resolve_path(cfg.data.path) == ROOT / "data" / "demo"
    assert cfg.heads.response and cfg.heads.relapse
    assert cfg.data.response_rule.source == "best_response"
    assert list(cfg.data.response_rule.positive) == ["CR", "PR"]
    assert cfg.tracking.registered_model_name == "predictor"


def test_the_app_composes_from_any_working_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "predictor.train", "+experiment=demo_fast", "--cfg", "job"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "name: demo_fast" in result.stdout
    script = Path(sys.executable).with_name("predictor-train")
    result = subprocess.run([str(script), "--cfg", "job", "data=simulated"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "n_patients: 300" in result.stdout
