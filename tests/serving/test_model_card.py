"""The bundle's MODEL_CARD.md: rendered from the manifest, hashed with the bundle, no ids."""

from __future__ import annotations

import yaml

from predictor.serving.model_card import CARD_FILE, render_model_card


def test_bundle_has_a_card_that_matches_its_manifest(bundle_dir, sim_cohort) -> None:
    manifest = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    card = (bundle_dir / CARD_FILE).read_text()
    assert CARD_FILE in manifest["files"]  # verified on load like every other file
    assert card == render_model_card({k: v for k, v in manifest.items() if k != "files"})
    assert f"threshold {manifest['threshold']:.3f}" in card
    assert "relapse-free probabilities at 6, 12, 24 months, from the start of treatment" in card
    assert f"{len(manifest['feature_names'])} features" in card
    assert "`mutations`" in card and "Research use only" in card
    assert not any(str(pid) in card for pid in sim_cohort.patient_ids)


def test_card_states_a_landmark_and_the_label_rule() -> None:
    manifest = {"created_utc": "2026-11-27T00:00:00Z", "predictor_version": "0.1.0",
                "format_version": 1, "heads": ["response", "relapse"], "threshold": 0.4,
                "horizons_months": [12.0],
                "label_rule": {"source": "best_response", "positive": ["CR", "PR"],
                               "sd_min_months": 6.0, "relapse_endpoint": "os",
                               "landmark_day": 42.0},
                "feature_names": ["a", "b"], "categorical_features": ["b"],
                "metadata": {"name": "lm", "n_train": 80, "n_test": 20,
                             "metrics": {"cv_roc_auc": 0.71234, "test_harrell_c": float("nan")}}}
    card = render_model_card(manifest)
    assert card.startswith("# Model card: lm")
    assert "or stable disease lasting >= 6 months" in card
    assert "(log relative hazard, OS)" in card
    assert "from day 42 of treatment, for patients still event-free then" in card
    assert "response ROC AUC, cross-validated: 0.712" in card
    assert "held-out test: nan" not in card and "Harrell's C, held-out" not in card


def test_card_command_prints_it_and_renders_one_for_older_bundles(bundle_dir, tmp_path) -> None:
    import shutil

    from click.testing import CliRunner

    from predictor.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["card", "--model", str(bundle_dir)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.rstrip("\n") == (bundle_dir / CARD_FILE).read_text().rstrip("\n")
    older = tmp_path / "older"
    shutil.copytree(bundle_dir, older)
    (older / CARD_FILE).unlink()  # a bundle written before cards existed
    again = runner.invoke(app, ["card", "--model", str(older)])
    assert again.exit_code == 0 and again.stdout == shown.stdout
    missing = runner.invoke(app, ["card", "--model", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and missing.stderr.startswith("error: ")
