"""Compiled core: equality with LightGBM, hash and CPU checks, fallback."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from predictor.errors import InputError
from predictor.serving import compiled as C

from .conftest import CAT_FEATURE, SPARSE_FEATURE, synthetic_matrix


def _probe_has_branches(probe: np.ndarray) -> None:
    assert np.isnan(probe).all(axis=1).any(), "an all-NaN row"
    cats = set(probe[:, CAT_FEATURE][~np.isnan(probe[:, CAT_FEATURE])].astype(int))
    assert {0, 1, 2, 3, 4, -1} <= cats


@pytest.mark.parametrize("fixture", ["binary_model_txt", "cox_model_txt"])
def test_compiled_equals_lightgbm(fixture, request, tmp_path, train_matrix):
    model_txt: Path = request.getfixturevalue(fixture)
    info = C.compile_booster(model_txt, tmp_path, train_matrix, name="head")
    assert info.backend == "compiled", info.reason
    assert info.max_abs_diff is not None and info.max_abs_diff <= 1e-9
    assert info.objective_patched is (fixture == "cox_model_txt")
    probe = np.load(tmp_path / "head.probe.npy")
    _probe_has_branches(probe)
    scorer = C.load_scorer(model_txt, tmp_path, "head")
    assert scorer.backend == "compiled"
    reference = C.LightGBMScorer(model_txt)
    fresh = synthetic_matrix(5000, seed=9)
    fresh[:3, CAT_FEATURE] = [7, -1, np.nan]  # unseen, negative and missing categories
    fresh[3:7, SPARSE_FEATURE] = [1e-36, -1e-36, C.K_ZERO_THRESHOLD, -C.K_ZERO_THRESHOLD]
    for X in (probe, fresh):
        np.testing.assert_allclose(scorer.raw_score(X), reference.raw_score(X), rtol=0,
                                   atol=1e-9)
    np.testing.assert_allclose(scorer.raw_score(fresh, n_jobs=2), reference.raw_score(fresh),
                               rtol=0, atol=1e-9)


def test_sidecar_records_hash_and_cpu(binary_model_txt, tmp_path, train_matrix):
    C.compile_booster(binary_model_txt, tmp_path, train_matrix, name="response")
    side = json.loads((tmp_path / "response.json").read_text())
    assert side["model_sha256"] == C.sha256_file(binary_model_txt)
    assert side["cpu"]["machine"] and side["cpu"]["name"]
    assert side["lleaves_version"] == "1.3.0"
    assert side["library_sha256"] == C.sha256_file(tmp_path / side["library"])


def test_tampered_model_is_refused(binary_model_txt, tmp_path, train_matrix):
    model = tmp_path / "model.txt"
    shutil.copy(binary_model_txt, model)
    lib_dir = tmp_path / "compiled"
    C.compile_booster(model, lib_dir, train_matrix, name="response")
    text = model.read_text().replace("leaf_value=", "leaf_value=0.5 ", 1)
    model.write_text(text)
    with pytest.raises(InputError, match="sha256"):
        C.load_scorer(model, lib_dir, "response")


@pytest.mark.parametrize("field", ["cpu", "lleaves_version"])
def test_cpu_mismatch_recompiles_into_cache(field, binary_model_txt, tmp_path, train_matrix):
    lib_dir, cache = tmp_path / "compiled", tmp_path / "cache"
    C.compile_booster(binary_model_txt, lib_dir, train_matrix, name="response")
    side_path = lib_dir / "response.json"
    side = json.loads(side_path.read_text())
    if field == "cpu":
        side["cpu"]["name"] = "some-other-cpu"
    else:
        side["lleaves_version"] = "0.0.1"
    side_path.write_text(json.dumps(side))
    before = sorted(p.name for p in lib_dir.iterdir())
    scorer = C.load_scorer(binary_model_txt, lib_dir, "response", cache=cache)
    assert scorer.backend == "compiled"
    assert scorer.library.parent == cache  # rebuilt outside the bundle
    assert sorted(p.name for p in lib_dir.iterdir()) == before
    X = synthetic_matrix(200, seed=4)
    np.testing.assert_allclose(scorer.raw_score(X), C.LightGBMScorer(binary_model_txt)
                               .raw_score(X), rtol=0, atol=1e-9)
    again = C.load_scorer(binary_model_txt, lib_dir, "response", cache=cache)
    assert again.library == scorer.library  # reused, not rebuilt


def test_mismatch_falls_back_to_lightgbm(binary_model_txt, tmp_path, train_matrix,
                                         monkeypatch, caplog):
    monkeypatch.setattr(C, "_max_abs_diff", lambda *a: 1e-3)
    with caplog.at_level(logging.WARNING):
        info = C.compile_booster(binary_model_txt, tmp_path, train_matrix, name="response")
    assert info.backend == "lightgbm" and "differ" in info.reason
    assert not (tmp_path / "response.o").exists()
    assert any("falling back" in r.message for r in caplog.records)
    scorer = C.load_scorer(binary_model_txt, tmp_path, "response")
    assert scorer.backend == "lightgbm"


def test_unknown_backend_is_input_error(binary_model_txt, tmp_path):
    with pytest.raises(InputError, match="backend"):
        C.load_scorer(binary_model_txt, tmp_path, "response", backend="gpu")


def test_tiny_values_snap_like_lightgbm():
    data = np.array([[1e-36, -C.K_ZERO_THRESHOLD, 2e-35, 0.5, np.nan]])
    snapped = C.snap_tiny_to_zero(data)
    np.testing.assert_array_equal(snapped, [[0.0, 0.0, 2e-35, 0.5, np.nan]])
    assert data[0, 0] == 1e-36  # the caller's array is not modified
    plain = np.array([[0.0, 1.0]])
    assert C.snap_tiny_to_zero(plain) is plain  # no copy when nothing to snap
    big = np.ones((50, 2))
    big[37, 1] = -1e-36
    snapped = C.snap_tiny_to_zero(big, block_rows=8)  # the tiny value is in a later block
    assert snapped[37, 1] == 0.0 and big[37, 1] == -1e-36
    assert np.count_nonzero(snapped != big) == 1


def test_binary_model_has_zero_threshold_splits(binary_model_txt):
    text = binary_model_txt.read_text()
    assert "e-35" in text, "the fixture should exercise LightGBM's zero-threshold splits"
    assert C._parse_model_text(binary_model_txt).zero_sensitive


def test_models_without_zero_splits_skip_snapping(tmp_path):
    import lightgbm as lgb

    rng = np.random.default_rng(5)
    X = rng.uniform(1.0, 2.0, size=(300, 3))  # no zeros, no NaN: no split near 0
    y = (X[:, 0] > 1.5).astype(float)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4},
                        lgb.Dataset(X, y), num_boost_round=5)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    assert not C._parse_model_text(path).zero_sensitive
    C.compile_booster(path, tmp_path / "compiled", X, name="m")
    assert C.load_scorer(path, tmp_path / "compiled", "m").snap is False


def test_unwritable_cache_falls_back_to_lightgbm(binary_model_txt, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache folder should be")
    scorer = C.load_scorer(binary_model_txt, None, "response", cache=blocker / "cache")
    assert scorer.backend == "lightgbm"


def test_stored_probe_holds_no_training_row(binary_model_txt, tmp_path, train_matrix):
    """Training rows verify the library at compile time but never travel with the bundle."""
    C.compile_booster(binary_model_txt, tmp_path, train_matrix, name="response")
    stored = np.load(tmp_path / f"response{C.PROBE_SUFFIX}", allow_pickle=False)
    _probe_has_branches(stored)
    data = np.asarray(train_matrix, dtype=np.float64)
    same = (stored[:, None, :] == data[None, :, :]) | (
        np.isnan(stored)[:, None, :] & np.isnan(data)[None, :, :])
    assert not same.all(axis=2).any()


def test_only_splits_snapping_can_change_need_the_snap():
    """x <= t decides alike for x and 0 (0 < |x| <= 1e-35) unless -1e-35 <= t < 1e-35."""
    k = C.K_ZERO_THRESHOLD
    assert not C._snap_changes_split(k)  # LightGBM's usual boundary next to zero
    assert not C._snap_changes_split(np.nextafter(k, 1.0)) and not C._snap_changes_split(0.5)
    assert not C._snap_changes_split(-2 * k)
    for t in (-k, 0.0, np.nextafter(k, 0.0), 1e-36, -1e-36):
        assert C._snap_changes_split(t)
    tiny = np.array([-k, -1e-36, 1e-36, k])
    for t in (k, -k, 0.0, np.nextafter(k, 1.0), -2 * k):  # brute force on every tiny kind
        differs = bool(np.any((tiny <= t) != (t >= 0.0)))
        assert differs == C._snap_changes_split(t)


def test_minus_k_only_models_snap_just_that_value(tmp_path):
    """A model whose only zero-sensitive splits are at exactly -1e-35 needs only x == -1e-35
    snapped; every other tiny value already decides as 0 does. Compared with LightGBM on each
    kind of tiny value."""
    import lightgbm as lgb

    rng = np.random.default_rng(11)
    X = rng.normal(size=(2000, 3))
    X[rng.random(2000) < 0.4, 0] = 0.0  # zeros next to negatives: splits at -1e-35
    y = ((X[:, 0] < 0) ^ (X[:, 1] > 0.3)).astype(float)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 8,
                         "min_data_in_leaf": 5}, lgb.Dataset(X, y), num_boost_round=20)
    path = tmp_path / "model.txt"
    booster.save_model(str(path))
    info = C._parse_model_text(path)
    thresholds = set(info.thresholds.get(0, []))
    if -C.K_ZERO_THRESHOLD not in thresholds or any(
            -C.K_ZERO_THRESHOLD < t < C.K_ZERO_THRESHOLD for t in thresholds):
        pytest.skip("LightGBM put no split at exactly -1e-35 here")
    assert info.zero_sensitive and info.only_minus_k
    C.compile_booster(path, tmp_path / "compiled", X, name="m")
    scorer = C.load_scorer(path, tmp_path / "compiled", "m")
    assert scorer.backend == "compiled" and scorer._only_minus_k
    k = C.K_ZERO_THRESHOLD
    fresh = np.repeat(X[:8], 6, axis=0)
    fresh[:, 0] = np.tile([-k, -1e-36, 1e-36, k, 0.0, -0.0], 8)
    reference = C.LightGBMScorer(path)
    for rows in (fresh, fresh[:1], fresh[:6]):
        np.testing.assert_array_equal(scorer.raw_score(rows, n_jobs=1),
                                      reference.raw_score(rows))
    np.testing.assert_array_equal(C.snap_minus_k(fresh[:6, :1]).ravel(),
                                  [0.0, -1e-36, 1e-36, k, 0.0, -0.0])


def test_small_batches_and_threads_score_like_one_batch(binary_model_txt, tmp_path,
                                                        train_matrix):
    """Small batches go through a per-thread output buffer: results are fresh arrays, equal
    to the large-batch scores, also when threads score at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    C.compile_booster(binary_model_txt, tmp_path, train_matrix, name="head")
    scorer = C.load_scorer(binary_model_txt, tmp_path, "head")
    X = synthetic_matrix(600, seed=4)
    full = scorer.raw_score(X, n_jobs=1)
    first = scorer.raw_score(X[:1])
    np.testing.assert_array_equal(scorer.raw_score(X[1:2]), full[1:2])
    assert first[0] == full[0]  # not overwritten by the next call's buffer
    for size in (1, 7, C.SMALL_OUT_ROWS, C.SMALL_OUT_ROWS + 1):
        np.testing.assert_array_equal(scorer.raw_score(X[:size]), full[:size])
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(lambda i: scorer.raw_score(X[i:i + 1])[0], range(len(X))))
    np.testing.assert_array_equal(rows, full)
    np.testing.assert_array_equal(scorer.raw_score(np.asfortranarray(X[:5])), full[:5])
    assert scorer.raw_score(X[:0]).shape == (0,)
