"""Benchmarks behind `predictor bench`: speed and memory, never timed unit tests."""
