"""MLflow tracking: where runs go, what they carry, and the model as a pyfunc (no pickle).

- ``mlflow_run``: tracking URI resolution, tags, batched params/metrics, nested runs;
- ``params``: config -> params (dotted keys, 500-character limit, patient ids redacted);
- ``model_logging``: a bundle logged as models-from-code (the code file, serving's
  ``pyfunc_model``, is handed in: tracking never imports serving) and registered;
- ``run_logging``: everything one training run logs, in one call;
- ``callbacks``: the Hydra callback that makes a sweep one parent run with nested job runs.
"""
