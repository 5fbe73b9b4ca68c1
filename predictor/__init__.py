"""Predict treatment response and relapse of cancer patients.

Data flows one way: ``data`` (cohorts, readers, simulator) -> ``features`` (transformers)
-> ``models`` (response, relapse, baselines) -> ``evaluation`` -> ``tracking`` (MLflow)
-> ``serving`` (compiled core, batch CLI).
"""

__version__ = "0.1.0"
