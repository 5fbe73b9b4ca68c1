"""cBioPortal study folders: reading the real format, writing it back, and round trips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predictor.data.cbioportal import read_cbioportal, write_cbioportal
from predictor.data.cohort import Cohort
from predictor.errors import InputError

KEYS = {"cna": ["sample_id", "Hugo_Symbol"], "segments": ["sample_id", "chrom", "start"],
        "clones": ["sample_id", "clone_id"], "ctdna": ["patient_id", "day"]}


def assert_same_cohort(left: Cohort, right: Cohort) -> None:
    """Every table equal up to dtype normalisation (and row order for reshaped tables)."""
    assert set(left.tables()) == set(right.tables())
    for name, table in left.tables().items():
        other = right.tables()[name]
        if name in KEYS:
            table = table.sort_values(KEYS[name]).reset_index(drop=True)
            other = other.sort_values(KEYS[name]).reset_index(drop=True)
        pd.testing.assert_frame_equal(table, other, check_dtype=False, check_index_type=False,
                                      obj=name)


# cBioPortal's meta file types (genetic_alteration_type, datatype) that the writer may use.
CBIOPORTAL_TYPES = {("CLINICAL", "PATIENT_ATTRIBUTES"), ("CLINICAL", "SAMPLE_ATTRIBUTES"),
                    ("MUTATION_EXTENDED", "MAF"), ("COPY_NUMBER_ALTERATION", "DISCRETE"),
                    ("COPY_NUMBER_ALTERATION", "SEG"), ("GENE_PANEL_MATRIX", "GENE_PANEL_MATRIX"),
                    ("MRNA_EXPRESSION", "CONTINUOUS")}


def assert_meta_files_are_cbioportal_types(study: Path) -> None:
    """Every meta file (but meta_study) has a cBioPortal type and names an existing file."""
    from predictor.data.cbioportal import read_meta

    for path in sorted(study.glob("meta_*.txt")):
        if path.name == "meta_study.txt":
            continue
        meta = read_meta(path)
        kind = (meta.get("genetic_alteration_type"), meta.get("datatype"))
        assert kind in CBIOPORTAL_TYPES, (path.name, kind)
        assert (study / meta["data_filename"]).is_file(), path.name


def strip_hash_lines(src: Path, dst: Path) -> None:
    dst.mkdir()
    for path in src.iterdir():
        lines = path.read_text().splitlines(keepends=True)
        if path.name.startswith("data_clinical"):
            lines = [line for line in lines if not line.startswith("#")]
        (dst / path.name).write_text("".join(lines))


def test_read_study_with_header_lines(tiny_study: Path) -> None:
    cohort = read_cbioportal(tiny_study, panel_sizes={"IMPACT468": 1.1565})
    assert cohort.name == "tiny_headers"
    assert list(cohort.clinical.index) == ["P1", "P2", "P3", "P4"]
    assert len(cohort.samples) == 5
    clinical = cohort.clinical
    assert clinical.loc["P2", "regimen"] == "nivolumab+ipilimumab"
    assert math.isnan(clinical.loc["P2", "nlr"])  # [Not Available]
    assert pd.isna(clinical.loc["P4", "line_of_therapy"])
    assert clinical.loc["P1", "smoker"] == "Ever"  # unknown attribute, lower-cased
    assert clinical.loc["P1", "tmb_nonsynonymous"] == pytest.approx(8.6)  # first sample
    assert clinical["tmb_nonsynonymous"].dtype == np.float64
    assert "dfs_status" not in clinical.columns  # outcome-like: never an input
    assert cohort.outcomes.loc["P2", "dfs_status"] == "1:Recurred/Progressed"
    assert cohort.meta["panel_sizes"] == {"IMPACT468": 1.1565}


def test_outcome_encodings(tiny_study: Path) -> None:
    out = read_cbioportal(tiny_study).outcomes
    assert out["best_response"].tolist() == ["PR", "PD", "SD", "NE"]
    assert out["responder"].astype("Float64").tolist()[:2] == [1, 0]
    assert out["responder"].isna().tolist() == [False, False, True, True]  # NE and blank
    assert out["pfs_event"].tolist()[:3] == [0, 1, 1]  # 0:CENSORED, 1:PROGRESSION, 1:Progressed
    assert pd.isna(out.loc["P4", "pfs_event"])
    assert out["os_event"].tolist() == [0, 1, 0, 1]


def test_molecular_tables(tiny_study: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    mut = cohort.mutations
    assert len(mut) == 9
    assert mut.attrs["source"].endswith("data_mutations.txt")
    assert mut.attrs["first_line"] == 3  # after '#version' and the header
    assert "n_depth" in mut.columns and "Chromosome" in mut.columns  # extra MAF columns kept
    assert mut["Chromosome"].tolist()[-1] == "X"
    assert mut["t_alt_count"].tolist()[:2] == [80, 60]
    cna = cohort.cna.set_index(["sample_id", "Hugo_Symbol"])["cna"]
    assert len(cna) == 14  # 15 cells, one NA dropped
    assert cna[("P4-T1", "CDKN2A")] == -1  # -1.5 (hemizygous deletion) -> shallow loss
    assert cna[("P2-T1", "CDKN2A")] == -2
    assert ("P3-T1", "EGFR") not in cna.index
    seg = cohort.segments
    assert list(seg.columns[:6]) == ["sample_id", "chrom", "start", "end", "num_mark", "seg_mean"]
    assert seg["seg_mean"].tolist()[1] == pytest.approx(-0.45)
    panels = cohort.samples.set_index("sample_id")["panel"]
    assert panels["P3-T1"] == "IMPACT341"  # blank GENE_PANEL, filled from the panel matrix
    assert panels["P2-T1"] == "IMPACT410"
    assert len(cohort.tme) == 3 and len(cohort.clones) == 3 and len(cohort.ctdna) == 4
    assert cohort.ctdna["day"].tolist()[-1] == pytest.approx(28.5)


def test_plain_study_without_header_lines(tiny_plain_study: Path) -> None:
    cohort = read_cbioportal(tiny_plain_study)
    assert cohort.clinical["line_of_therapy"].tolist() == [1, 4, 3]  # from LINES_OF_TX
    assert cohort.clinical["cancer_type"].tolist() == ["LUAD", "LUSC", "LUAD"]  # ONCOTREE_CODE
    assert cohort.outcomes["pfs_event"].tolist() == [0, 1, 0]  # '0:Not Progressed', 1, 0
    assert cohort.outcomes["responder"].isna().tolist() == [False, False, True]
    assert cohort.samples["panel"].tolist() == ["IMPACT341", "IMPACT410", "IMPACT468"]
    assert cohort.clinical["pdl1_score"].isna().tolist() == [True, False, False]


def test_header_lines_do_not_change_what_is_read(tiny_study: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    strip_hash_lines(tiny_study, plain)
    assert_same_cohort(read_cbioportal(tiny_study), read_cbioportal(plain))


def test_round_trip_of_a_read_study(tiny_study: Path, tmp_path: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    out = tmp_path / "written"
    truth = pd.DataFrame({"patient_id": ["P1", "P2"], "true_response_probability": [0.7, 0.1]})
    write_cbioportal(cohort, out, extra_files={"ground_truth.tsv": truth})
    again = read_cbioportal(out)
    assert_same_cohort(cohort, again)
    patient_lines = (out / "data_clinical_patient.txt").read_text().splitlines()
    sample_lines = (out / "data_clinical_sample.txt").read_text().splitlines()
    assert [line.startswith("#") for line in patient_lines[:5]] == [True] * 4 + [False]
    assert [line.startswith("#") for line in sample_lines[:6]] == [True] * 5 + [False]
    assert "1:PROGRESSION" in "\n".join(patient_lines)
    for meta in ("meta_study.txt", "meta_clinical_patient.txt", "meta_mutations.txt",
                 "meta_cna.txt"):
        assert (out / meta).exists(), meta
    assert (out / "data_tme.txt").exists()
    assert_meta_files_are_cbioportal_types(out)
    written_truth = pd.read_csv(out / "ground_truth.tsv", sep="\t")
    assert written_truth["true_response_probability"].tolist() == [0.7, 0.1]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp folder left


def test_round_trip_of_an_in_memory_cohort(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 30
    ids = [f"S{i:03d}" for i in range(n)]
    clinical = pd.DataFrame({
        "patient_id": ids, "cancer_type": rng.choice(["NSCLC", "Melanoma"], n),
        "regimen": "pembrolizumab", "line_of_therapy": rng.integers(1, 4, n),
        "prior_systemic_therapy": rng.integers(0, 2, n), "age": rng.uniform(30, 80, n).round(6),
        "sex": rng.choice(["Male", "Female"], n), "nlr": rng.gamma(2, 2, n),
        "albumin": np.r_[np.nan, rng.uniform(2.5, 4.5, n - 1)], "cohort": "sim",
    })
    outcomes = pd.DataFrame({
        "patient_id": ids, "best_response": rng.choice(["CR", "PR", "SD", "PD", "NE"], n),
        "pfs_months": rng.exponential(8, n), "pfs_event": rng.integers(0, 2, n),
        "os_months": rng.exponential(20, n), "os_event": rng.integers(0, 2, n),
    })
    mutations = pd.DataFrame({
        "Tumor_Sample_Barcode": rng.choice(ids, 200), "Hugo_Symbol": rng.choice(["TP53", "KRAS"],
                                                                                200),
        "Variant_Classification": "Missense_Mutation", "HGVSp_Short": "p.X1Y",
        "t_ref_count": rng.integers(10, 200, 200), "t_alt_count": rng.integers(1, 100, 200),
        "ccf": rng.uniform(0, 1, 200),
    })
    mutations["Comment"] = pd.array([None] * 199 + ['called "subclonal"'], dtype="string")
    outcomes["time_to_next_treatment"] = rng.exponential(10, n)  # not named like an outcome
    cohort = Cohort.from_tables(clinical=clinical, outcomes=outcomes, mutations=mutations,
                                name="sim_study")
    write_cbioportal(cohort, tmp_path / "study")
    again = read_cbioportal(tmp_path / "study")
    assert again.name == "sim_study"
    assert "time_to_next_treatment" not in again.clinical.columns  # stays an outcome
    assert again.mutations["Comment"].iloc[-1] == 'called "subclonal"'  # never quoted
    assert_same_cohort(cohort, again)


def test_writer_rejects_a_tab_inside_a_value(tmp_path: Path) -> None:
    clinical = pd.DataFrame({"patient_id": ["a"], "cancer_type": ["NSCLC\tLUAD"]})
    with pytest.raises(InputError, match="tab"):
        write_cbioportal(Cohort.from_tables(clinical=clinical), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_writer_refuses_a_non_empty_folder(tiny_study: Path, tmp_path: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    with pytest.raises(InputError, match="not empty"):
        write_cbioportal(cohort, tiny_study)
    empty = tmp_path / "empty"
    empty.mkdir()
    write_cbioportal(cohort, empty)  # an existing empty folder is fine
    assert (empty / "data_mutations.txt").exists()


def test_writer_leaves_nothing_on_failure(tiny_study: Path, tmp_path: Path) -> None:
    cohort = read_cbioportal(tiny_study)
    out = tmp_path / "out"
    with pytest.raises(InputError):
        write_cbioportal(cohort, out, extra_files={"../escape.tsv": pd.DataFrame({"a": [1]})})
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]


@pytest.mark.shared
def test_real_nsclc_pd1_msk_2018(shared_data: Path) -> None:
    folder = shared_data / "nsclc_pd1_msk_2018"
    if not folder.is_dir():
        pytest.skip("nsclc_pd1_msk_2018 not available")
    cohort = read_cbioportal(folder)
    assert len(cohort) == 240
    assert len(cohort.mutations) == 2517
    assert cohort.samples["panel"].notna().all()
    assert set(cohort.samples["panel"]) == {"IMPACT341", "IMPACT410", "IMPACT468"}
    responder = cohort.outcomes["responder"]
    assert int((responder == 1).sum()) == 69
    assert int((responder == 0).sum()) == 158
    assert int(responder.isna().sum()) == 13  # NE: still counts for relapse
    assert set(cohort.outcomes["pfs_event"].dropna().unique()) == {0, 1}
    assert cohort.outcomes["pfs_months"].notna().all()
    assert "tmb_nonsynonymous" in cohort.clinical.columns


def test_arrow_backed_strings_read_and_write(tiny_study: Path, tmp_path: Path) -> None:
    """With ``mode.string_storage = pyarrow`` (as the simulator uses) text stays Arrow-backed."""
    with pd.option_context("mode.string_storage", "pyarrow"):
        cohort = read_cbioportal(tiny_study)
        assert cohort.mutations["Hugo_Symbol"].dtype == pd.StringDtype("pyarrow")
        write_cbioportal(cohort, tmp_path / "out")
    assert_same_cohort(read_cbioportal(tiny_study), read_cbioportal(tmp_path / "out"))


def test_not_a_study(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(InputError, match="not a cBioPortal study"):
        read_cbioportal(tmp_path)


def test_cna_error_names_the_file_line_across_empty_lines(tiny_study: Path) -> None:
    from predictor.data.cbioportal import read_cna

    path = tiny_study / "data_cna.txt"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("\t2", "\t3", 1)  # MYC (file line 4): 3 is not a CNA code
    lines.insert(2, "")  # an empty line before it: MYC is now on line 5
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line 5"):
        read_cna(path)


# ---------------------------------------------------------------- several .seg files
def _second_build(study: Path, name: str = "data_cna_hg38.seg") -> None:
    """A copy of the segments under another build, with one value changed to tell them apart."""
    text = (study / "data_cna_hg19.seg").read_text().replace("0.12", "0.99")
    (study / name).write_text(text)


def test_seg_file_of_the_study_build_is_read(tiny_study: Path) -> None:
    _second_build(tiny_study)
    cohort = read_cbioportal(tiny_study)  # no reference_genome: cBioPortal's default hg19
    assert cohort.segments.attrs["source"].endswith("data_cna_hg19.seg")
    assert cohort.segments["seg_mean"].iloc[0] == pytest.approx(0.12)
    meta = tiny_study / "meta_study.txt"
    meta.write_text(meta.read_text() + "reference_genome: GRCh38\n")
    cohort = read_cbioportal(tiny_study)
    assert cohort.segments.attrs["source"].endswith("data_cna_hg38.seg")
    assert cohort.segments["seg_mean"].iloc[0] == pytest.approx(0.99)


def test_seg_build_comes_from_its_meta_file(tiny_study: Path) -> None:
    _second_build(tiny_study, "segments_b.seg")  # the name says nothing; the meta file does
    (tiny_study / "data_cna_hg19.seg").rename(tiny_study / "segments_a.seg")
    for name, build in (("segments_a.seg", "hg19"), ("segments_b.seg", "hg38")):
        (tiny_study / f"meta_{name[:-4]}.txt").write_text(
            "cancer_study_identifier: tiny_headers\ngenetic_alteration_type: "
            f"COPY_NUMBER_ALTERATION\ndatatype: SEG\nreference_genome_id: {build}\n"
            f"description: segments\ndata_filename: {name}\n")
    meta = tiny_study / "meta_study.txt"
    meta.write_text(meta.read_text() + "reference_genome: hg38\n")
    assert read_cbioportal(tiny_study).segments.attrs["source"].endswith("segments_b.seg")


def test_two_seg_files_of_one_build_are_refused(tiny_study: Path) -> None:
    _second_build(tiny_study, "more_hg19.seg")
    with pytest.raises(InputError, match=r"several \.seg files for genome hg19"):
        read_cbioportal(tiny_study)


def test_no_seg_file_of_the_study_build_reads_the_first_with_a_warning(
        tiny_study: Path, caplog: pytest.LogCaptureFixture) -> None:
    _second_build(tiny_study)
    meta = tiny_study / "meta_study.txt"
    meta.write_text(meta.read_text() + "reference_genome: mm10\n")
    cohort = read_cbioportal(tiny_study)
    assert cohort.segments.attrs["source"].endswith("data_cna_hg19.seg")
    assert "no .seg file for the study's genome mm10" in caplog.text


def test_demo_study_meta_files_are_cbioportal_types() -> None:
    assert_meta_files_are_cbioportal_types(Path(__file__).resolve().parents[2] / "data" / "demo")
