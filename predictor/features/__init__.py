"""Feature engineering: scikit-learn transformers from a Cohort to a float64 feature matrix.

Entry point: :func:`predictor.features.pipeline.build_feature_pipeline` (the ``_target_`` of
``conf/features/*.yaml``). See ``predictor/features/README.md`` for every feature's definition.
"""
