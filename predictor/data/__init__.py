"""Cohorts, readers, writers and the simulator."""

from predictor.data.cohort import Cohort
from predictor.data.labels import RelapseEndpoint, ResponseRule, relapse_target, response_labels

__all__ = ["Cohort", "RelapseEndpoint", "ResponseRule", "relapse_target", "response_labels"]
