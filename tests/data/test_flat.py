"""Flat one-row-per-patient tables: mappings, CSV/TSV/Parquet, chunks, and the Chowell cohort."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.data.flat import read_flat, write_flat
from predictor.data.mappings import FlatMapping, load_mapping
from predictor.data.readers import describe_cohort, iter_flat_chunks, read_cohort
from predictor.errors import InputError

REPO = Path(__file__).resolve().parents[2]
CHOWELL_MAPPING = REPO / "conf" / "mappings" / "chowell_icb.yaml"

MAPPING = {
    "id_column": "ID",
    "columns": {"cancer_type": "CancerType", "sex": "Sex", "age": "Age"},
    "value_maps": {"sex": {1: "Male", 0: "Female"}},
    "regimen_column": "Drug",
    "regimen_map": {0: "nivolumab", 1: "nivolumab+ipilimumab"},
    "outcomes": {"responder": "Response", "pfs_months": "PFS_Months", "pfs_event": "PFS_Event"},
    "features": ["TMB", "HED", "Missing_Feature"],
    "cohort_column": "Site",
}


def make_table(n: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ID": np.arange(1, n + 1), "CancerType": rng.choice(["NSCLC", "Melanoma"], n),
        "Sex": rng.integers(0, 2, n), "Age": rng.uniform(30, 80, n).round(2),
        "Drug": rng.integers(0, 2, n), "TMB": rng.gamma(2, 3, n).round(3),
        "HED": np.r_[np.nan, rng.uniform(0, 8, n - 1).round(3)], "Site": "MSK",
        "Unused": "x", "Response": rng.integers(0, 2, n),
        "PFS_Months": rng.exponential(6, n).round(3), "PFS_Event": rng.integers(0, 2, n),
    })


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_read_flat_with_mapping(tmp_path: Path, suffix: str) -> None:
    table = make_table()
    path = tmp_path / f"cohort{suffix}"
    if suffix == ".parquet":
        table.to_parquet(path)
    else:
        table.to_csv(path, sep="," if suffix == ".csv" else "\t", index=False)
    cohort = read_flat(path, MAPPING)
    clinical = cohort.clinical
    assert list(clinical.index) == [str(i) for i in table["ID"]]
    expected_sex = table["Sex"].map({1: "Male", 0: "Female"}).tolist()
    assert clinical["sex"].tolist() == expected_sex
    assert clinical["regimen"].tolist() == table["Drug"].map(
        {0: "nivolumab", 1: "nivolumab+ipilimumab"}).tolist()
    assert clinical["cohort"].unique().tolist() == ["MSK"]
    np.testing.assert_allclose(clinical["TMB"].to_numpy(), table["TMB"].to_numpy())
    assert np.isnan(clinical["HED"].iloc[0])
    assert "Missing_Feature" not in clinical.columns  # absent optional feature: simply absent
    assert "Unused" not in clinical.columns and "Response" not in clinical.columns
    assert cohort.outcomes["responder"].tolist() == table["Response"].tolist()


def test_mapping_from_yaml_equals_dict(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("id_column: ID\ncolumns: {cancer_type: CancerType}\n"
                    "value_maps: {}\nfeatures: [TMB]\n")
    loaded = load_mapping(path)
    assert loaded == FlatMapping.from_dict({"id_column": "ID",
                                            "columns": {"cancer_type": "CancerType"},
                                            "features": ["TMB"]})


def test_mapping_rejects_unknown_keys_and_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown mapping key"):
        FlatMapping.from_dict({"id_column": "ID", "colums": {}})
    with pytest.raises(InputError, match="not a clinical schema column"):
        FlatMapping.from_dict({"id_column": "ID", "columns": {"tmb": "TMB"}})
    with pytest.raises(InputError, match="mapping file not found"):
        load_mapping(tmp_path / "nope.yaml")


def test_required_mapped_column_missing(tmp_path: Path) -> None:
    path = tmp_path / "cohort.csv"
    make_table().drop(columns=["CancerType"]).to_csv(path, index=False)
    with pytest.raises(InputError, match="CancerType") as info:
        read_flat(path, MAPPING)
    assert "cohort.csv" in str(info.value)


def test_optional_columns_and_outcomes_may_be_absent(tmp_path: Path) -> None:
    path = tmp_path / "new_patients.csv"
    table = make_table().drop(columns=["Sex", "TMB", "Response", "PFS_Months", "PFS_Event"])
    table.to_csv(path, index=False)
    cohort = read_flat(path, MAPPING)
    assert "sex" not in cohort.clinical.columns and "TMB" not in cohort.clinical.columns
    assert cohort.outcomes is None


def test_unknown_code_names_its_line(tmp_path: Path) -> None:
    table = make_table()
    table["Drug"] = table["Drug"].astype(object)
    table.loc[4, "Drug"] = 7
    path = tmp_path / "cohort.csv"
    table.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        read_flat(path, MAPPING)
    message = str(info.value)
    assert "line 6" in message and "'Drug'" in message and "'7'" in message


def test_schema_named_file_needs_no_mapping_and_round_trips(tmp_path: Path) -> None:
    original = read_flat(_write(make_table(), tmp_path / "in.csv"), MAPPING)
    for suffix in (".csv", ".tsv", ".parquet"):
        path = tmp_path / f"out{suffix}"
        write_flat(original, path)
        again = read_cohort(path)
        pd.testing.assert_frame_equal(original.clinical, again.clinical, check_dtype=False)
        pd.testing.assert_frame_equal(original.outcomes, again.outcomes, check_dtype=False)


def test_write_flat_never_leaves_a_partial_file(tmp_path: Path) -> None:
    cohort = read_flat(_write(make_table(), tmp_path / "in.csv"), MAPPING)
    with pytest.raises(InputError):
        write_flat(cohort, tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_cover_the_file(tmp_path: Path, suffix: str) -> None:
    table = make_table(n=25)
    path = tmp_path / f"big{suffix}"
    if suffix == ".parquet":
        table.to_parquet(path)
    else:
        table.to_csv(path, index=False)
    chunks = list(iter_flat_chunks(path, MAPPING, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    whole = read_flat(path, MAPPING)
    joined = pd.concat([c.clinical for c in chunks])
    pd.testing.assert_frame_equal(whole.clinical, joined, check_dtype=False)


def test_chunk_errors_name_the_file_line(tmp_path: Path) -> None:
    table = make_table(n=25)
    table["Sex"] = table["Sex"].astype(object)
    table.loc[17, "Sex"] = "M"  # file line 19 (header is line 1), in the second chunk
    path = _write(table, tmp_path / "big.csv")
    chunks = iter_flat_chunks(path, MAPPING, chunk_rows=10)
    assert len(next(chunks)) == 10
    with pytest.raises(InputError, match="line 19"):
        next(chunks)


@pytest.mark.parametrize("chunked", [False, True])
def test_empty_lines_do_not_shift_the_reported_line(tmp_path: Path, chunked: bool) -> None:
    # Arrow skips empty lines; the error must still name the line the user sees in an editor.
    table = make_table(n=25)
    table["Sex"] = table["Sex"].astype(object)
    table.loc[17, "Sex"] = "M"  # row 18: file line 19, plus 3 empty lines above it -> 22
    lines = table.to_csv(index=False).splitlines()
    lines[3:3] = ["", ""]
    lines[10:10] = [""]
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n\n")
    assert path.read_text().splitlines()[21].split(",")[table.columns.get_loc("Sex")] == "M"
    with pytest.raises(InputError, match="line 22"):
        if chunked:
            list(iter_flat_chunks(path, MAPPING, chunk_rows=10))
        else:
            read_flat(path, MAPPING)


def test_describe_cohort(tmp_path: Path) -> None:
    cohort = read_flat(_write(make_table(), tmp_path / "in.csv"), MAPPING)
    text = describe_cohort(cohort)
    n_resp = int(make_table()["Response"].sum())
    assert "12 patients" in text
    assert f"responders {n_resp}, non-responders {12 - n_resp}" in text


@pytest.mark.shared
def test_chowell_train_with_shipped_mapping(shared_data: Path) -> None:
    path = shared_data / "chowell_icb" / "train.csv"
    if not path.exists():
        pytest.skip("chowell_icb not available")
    cohort = read_cohort(path, CHOWELL_MAPPING)
    assert len(cohort) == 964
    raw = pd.read_csv(path)
    assert cohort.clinical["sex"].tolist() == raw["Sex"].map({1: "Male", 0: "Female"}).tolist()
    assert set(cohort.clinical["regimen"]) <= {"nivolumab", "nivolumab+ipilimumab", "ipilimumab"}
    for feature in ("TMB", "HED", "FCNA", "PDL1_TPS", "Stage", "ICI_start_year"):
        assert cohort.clinical[feature].dtype == np.float64, feature
    assert cohort.outcomes["responder"].mean() == pytest.approx(raw["Response"].mean())
    assert cohort.outcomes["os_event"].notna().all()


def _write(table: pd.DataFrame, path: Path) -> Path:
    table.to_csv(path, index=False)
    return path


def test_write_flat_refuses_to_overwrite(tmp_path: Path) -> None:
    source = _write(make_table(), tmp_path / "in.csv")
    before = source.read_bytes()
    cohort = read_flat(source, MAPPING)
    with pytest.raises(InputError, match="exists"):
        write_flat(cohort, source)
    assert source.read_bytes() == before
    write_flat(cohort, source, overwrite=True)
    assert read_cohort(source).clinical.shape[0] == 12


def test_constants_fill_a_column_the_file_lacks(tmp_path: Path) -> None:
    path = _write(make_table().drop(columns=["CancerType"]), tmp_path / "melanoma.csv")
    mapping = {**MAPPING, "constants": {"cancer_type": "Melanoma"}}
    cohort = read_flat(path, mapping)
    assert set(cohort.clinical["cancer_type"]) == {"Melanoma"}
    with pytest.raises(InputError, match="constants"):
        FlatMapping.from_dict({**MAPPING, "constants": {"TMB": 1.0}})


def test_identifiers_stay_text(tmp_path: Path) -> None:
    table = make_table()
    table["ID"] = [f"{i:03d}" for i in range(len(table))]  # leading zeros must survive
    cohort = read_flat(_write(table, tmp_path / "ids.csv"), MAPPING)
    assert cohort.clinical.index[:2].tolist() == ["000", "001"]
    assert cohort.clinical["TMB"].dtype == np.float64


def test_chunks_of_a_malformed_file(tmp_path: Path) -> None:
    path = _write(make_table(n=25), tmp_path / "big.csv")
    lines = path.read_text().splitlines()
    lines[21] += ",extra"  # file line 22
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line 22"):
        list(iter_flat_chunks(path, MAPPING, chunk_rows=10))


def test_file_without_the_id_column_gets_row_numbers(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "no_ids.csv"
    make_table(5).drop(columns=["ID"]).to_csv(path, index=False)
    with caplog.at_level("WARNING"):
        cohort = read_flat(path, MAPPING)
    assert list(cohort.clinical.index) == ["1", "2", "3", "4", "5"]
    assert "no patient id column 'ID'" in caplog.text


def test_chowell_mapping_scores_a_file_without_cancer_type(tmp_path: Path) -> None:
    path = tmp_path / "thin.csv"
    pd.DataFrame({"SAMPLE_ID": [1, 2], "TMB": [3.0, 12.5], "Age": [60, 70]}
                 ).to_csv(path, index=False)  # one input column alone is refused
    cohort = read_cohort(path, CHOWELL_MAPPING)
    assert cohort.clinical["cancer_type"].tolist() == ["Unknown", "Unknown"]
    assert cohort.clinical["TMB"].tolist() == [3.0, 12.5]


def test_parquet_from_pandas_reads_like_csv(tmp_path: Path) -> None:
    """A Parquet file written from pandas (``string`` and ``Int64`` columns in its metadata)
    gives the cohort a CSV of the same rows gives, dtypes included; the samples table built
    from the ids (not re-checked) is one sample per patient and passes the full check."""
    base = read_flat(_write(make_table(n=25), tmp_path / "in.csv"), MAPPING)
    flat = tmp_path / "schema.csv"
    write_flat(base, flat)
    frame = pd.read_csv(flat, dtype={"patient_id": "string", "sex": "string"})
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    frame = frame.astype({c: "Int64" for c in ("line_of_therapy", "prior_systemic_therapy")
                          if c in frame.columns})
    frame.to_parquet(tmp_path / "schema.parquet")
    from_csv, from_parquet = read_cohort(flat), read_cohort(tmp_path / "schema.parquet")
    pd.testing.assert_frame_equal(from_csv.clinical, from_parquet.clinical)
    samples = from_parquet.samples
    assert list(samples["sample_id"]) == list(from_parquet.clinical.index)
    assert list(samples["patient_id"]) == list(from_parquet.clinical.index)
    from_parquet.validate()


@pytest.mark.parametrize("index", ["ID", "CancerType", "Age", ["ID", "Site"]])
def test_parquet_index_columns_are_read_as_columns(tmp_path: Path, index) -> None:
    """A Parquet file written from a frame indexed by one of its columns (``set_index``)
    holds that column like any other: read with it, in both readers, the cohort is the one
    of the same rows written without an index (before, a text index column crashed the
    reader with a KeyError and a numeric one silently went missing)."""
    table = make_table(n=7)
    table["ID"] = [f"P{i}" for i in table["ID"]]
    table.to_parquet(tmp_path / "plain.parquet", index=False)
    table.set_index(index).to_parquet(tmp_path / "indexed.parquet")
    plain = read_flat(tmp_path / "plain.parquet", MAPPING)
    for got in (read_flat(tmp_path / "indexed.parquet", MAPPING),
                *iter_flat_chunks(tmp_path / "indexed.parquet", MAPPING, chunk_rows=7)):
        pd.testing.assert_frame_equal(got.clinical, plain.clinical)
        pd.testing.assert_frame_equal(got.outcomes, plain.outcomes)


def test_parquet_row_labels_stay_out_of_the_columns(tmp_path: Path) -> None:
    """An unnamed, non-default index (``__index_level_0__`` in the file) is the writer's row
    labels: not read as a column, as before."""
    table = make_table(n=7).iloc[[3, 1, 0, 6, 2, 5, 4]]
    table.to_parquet(tmp_path / "labels.parquet")
    table.to_parquet(tmp_path / "plain.parquet", index=False)
    pd.testing.assert_frame_equal(read_flat(tmp_path / "labels.parquet", MAPPING).clinical,
                                  read_flat(tmp_path / "plain.parquet", MAPPING).clinical)


def test_parquet_chunks_refuse_a_twice_named_column(tmp_path: Path) -> None:
    """Parquet allows two columns of one name; the chunked reader names it in a one-line
    error, as the whole-file reader refuses the file (before: an AttributeError or KeyError
    from pandas)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = make_table(n=4)
    arrays = [pa.array(table[c]) for c in table.columns] + [pa.array(table["Sex"])]
    pq.write_table(pa.Table.from_arrays(arrays, names=[*table.columns, "Sex"]),
                   tmp_path / "twice.parquet")
    with pytest.raises(InputError, match="duplicate column name") as error:
        list(iter_flat_chunks(tmp_path / "twice.parquet", MAPPING, chunk_rows=2))
    assert error.value.column == "Sex" and "\n" not in str(error.value)
    with pytest.raises(InputError):
        read_flat(tmp_path / "twice.parquet", MAPPING)


def test_parquet_string_columns_of_numbers_with_arrow_backed_text(tmp_path: Path) -> None:
    """With pandas' Arrow-backed text (``mode.string_storage = "pyarrow"``), a Parquet file
    written from pandas ``string`` columns holding padded numbers reads as with the default
    storage: the reader makes them float64, which the file's pandas metadata (``string``)
    must not turn back (before: a ValueError from pandas)."""
    table = make_table(n=6)
    table["Age"] = [f" {a} " for a in table["Age"]]
    table = table.astype({"Age": "string", "CancerType": "string"})
    table.to_parquet(tmp_path / "typed.parquet", index=False)
    expected = read_flat(tmp_path / "typed.parquet", MAPPING).clinical
    with pd.option_context("mode.string_storage", "pyarrow"):
        for got in (read_flat(tmp_path / "typed.parquet", MAPPING),
                    *iter_flat_chunks(tmp_path / "typed.parquet", MAPPING, chunk_rows=6)):
            assert got.clinical["age"].dtype == "float64"
            pd.testing.assert_frame_equal(got.clinical, expected, check_dtype=False,
                                          check_index_type=False)


def test_parquet_text_row_labels_are_dropped_like_numeric_ones(tmp_path: Path) -> None:
    """Text row labels (an unnamed index of strings, e.g. pandas' ``read_csv`` of rows one
    field longer than the header) are dropped like numeric ones, in both readers (before: a
    KeyError from the text conversion)."""
    table = make_table(n=7)
    table.to_parquet(tmp_path / "plain.parquet", index=False)
    table.index = [f"row{i}" for i in range(7)]
    table.to_parquet(tmp_path / "labels.parquet")
    plain = read_flat(tmp_path / "plain.parquet", MAPPING)
    for got in (read_flat(tmp_path / "labels.parquet", MAPPING),
                *iter_flat_chunks(tmp_path / "labels.parquet", MAPPING, chunk_rows=7)):
        pd.testing.assert_frame_equal(got.clinical, plain.clinical)
    schema_named = tmp_path / "schema.parquet"
    frame = pd.DataFrame({"patient_id": ["a", "b"], "cancer_type": ["NSCLC", "Melanoma"]},
                         index=["x", "y"])
    frame.to_parquet(schema_named)
    assert list(read_flat(schema_named).clinical.index) == ["a", "b"]
