"""models layer: response head, relapse head (Cox + Breslow), baselines.

Baselines live in ``predictor.models.baselines`` (imported on demand: it pulls in
scikit-survival, which serving does not need).
"""

from predictor.models.relapse import RelapseModel, horizon_column
from predictor.models.response import ResponseModel

__all__ = ["RelapseModel", "ResponseModel", "horizon_column"]
