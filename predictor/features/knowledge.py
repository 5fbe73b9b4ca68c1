"""Load and check the drug knowledge base and the pathway gene sets (YAML under ``conf/``).

Relative paths are taken from the working directory when they exist there, else from the
checkout or the installed package (:func:`predictor.resources.resolve_user_path`), so the
defaults below work from anywhere and in a wheel.

They are loaded once, when the pipeline is built, into plain dicts that become transformer
params: a fitted pipeline carries its knowledge and never reads ``conf/`` again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from predictor import resources, yamlfile
from predictor.data.schema import NONSYNONYMOUS_CLASSES, VARIANT_CLASSIFICATIONS
from predictor.errors import InputError

REPO_ROOT = resources.resource_root()  # the checkout, or the packaged configs of a wheel
DEFAULT_DRUGS = "conf/knowledge/drugs.yaml"
DEFAULT_GENE_SETS = "conf/knowledge/gene_sets.yaml"
MECHANISMS = ("targeted", "immunotherapy", "chemotherapy", "hormonal", "other")
ROLES = ("targets", "bypass", "resistance", "sensitizers")

# Class aliases usable in an alteration's ``classes``.
TRUNCATING_CLASSES = (
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "Splice_Site",
    "Nonstop_Mutation",
    "Translation_Start_Site",
)
CLASS_ALIASES = {"nonsynonymous": NONSYNONYMOUS_CLASSES, "truncating": TRUNCATING_CLASSES}


def resolve_path(path: str | Path) -> Path:
    """A config path: absolute as is, else from the working directory or the resources."""
    return resources.resolve_user_path(path)


def _read_yaml(path: str | Path) -> Any:
    resolved = resolve_path(path)
    if not resolved.is_file():
        raise InputError("knowledge file not found", file=resolved)
    try:
        with resolved.open(encoding="utf-8") as handle:
            return yamlfile.safe_load(handle)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(f"invalid YAML: {getattr(error, 'problem', error)}", file=resolved,
                         line=line) from None


def expand_classes(classes: list[str] | tuple[str, ...]) -> list[str]:
    """Variant classes with the ``nonsynonymous`` / ``truncating`` aliases expanded."""
    out: list[str] = []
    for name in classes:
        out.extend(CLASS_ALIASES.get(name, (name,)))
    return out


def _check_alteration(spec: Any, where: str, source: Path) -> dict:
    if not isinstance(spec, dict) or not isinstance(spec.get("gene"), str):
        raise InputError(f"{where}: an alteration needs a 'gene'", file=source)
    unknown = set(spec) - {"gene", "hgvsp", "classes", "cna", "note"}
    if unknown:
        raise InputError(f"{where}: unknown key(s) {sorted(unknown)}", file=source)
    for pattern in spec.get("hgvsp", []) or []:
        try:
            re.compile(pattern)
        except re.error as error:
            raise InputError(f"{where}: bad HGVSp pattern {pattern!r}: {error}",
                             file=source) from None
    bad = [c for c in expand_classes(spec.get("classes", []) or [])
           if c not in VARIANT_CLASSIFICATIONS]
    if bad:
        raise InputError(f"{where}: unknown variant class {bad[0]!r}", file=source)
    bad_cna = [v for v in spec.get("cna", []) or [] if v not in (-2, -1, 1, 2)]
    if bad_cna:
        raise InputError(f"{where}: cna values must be in -2, -1, 1, 2", file=source)
    return {k: v for k, v in spec.items() if k != "note"}


def load_drugs(path: str | Path = DEFAULT_DRUGS,
               expression_markers: bool = False) -> dict[str, dict]:
    """Drug name -> {class, mechanism, targets, bypass, resistance, sensitizers}.

    Every alteration is ``{gene, hgvsp?: [regex], classes?: [variant class], cna?: [int]}``.
    With ``expression_markers``, a drug that lists marker genes also gets
    ``expression_markers: [gene]`` (off by default, so that models that do not use RNA-seq
    keep the same stored knowledge base).
    """
    source = resolve_path(path)
    data = _read_yaml(source)
    if not isinstance(data, dict) or not isinstance(data.get("drugs"), dict):
        raise InputError("a drug knowledge base needs a 'drugs' mapping", file=source)
    drugs: dict[str, dict] = {}
    for name, entry in data["drugs"].items():
        where = f"drug {name!r}"
        if not isinstance(entry, dict) or not entry.get("class"):
            raise InputError(f"{where} needs a 'class'", file=source)
        if entry.get("mechanism") not in MECHANISMS:
            raise InputError(f"{where}: mechanism must be one of {', '.join(MECHANISMS)}",
                             file=source)
        drug = {"class": str(entry["class"]), "mechanism": str(entry["mechanism"])}
        for role in ROLES:
            specs = entry.get(role) or []
            drug[role] = [_check_alteration(s, f"{where} {role}", source) for s in specs]
        markers = entry.get("expression_markers") or []
        if not isinstance(markers, list) or not all(isinstance(g, str) for g in markers):
            raise InputError(f"{where}: expression_markers must be a list of gene symbols",
                             file=source)
        if expression_markers and markers:
            drug["expression_markers"] = list(markers)
        drugs[str(name).strip().lower()] = drug
    return drugs


def load_gene_sets(path: str | Path = DEFAULT_GENE_SETS) -> dict[str, dict]:
    """Pathway name -> {oncogenes: [...], tumor_suppressors: [...]}.

    An oncogene counts as altered by a non-synonymous mutation or an amplification (CNA 2), a
    tumour suppressor by a non-synonymous mutation or a deep deletion (CNA -2).
    """
    source = resolve_path(path)
    data = _read_yaml(source)
    if not isinstance(data, dict) or not isinstance(data.get("pathways"), dict):
        raise InputError("a gene-set file needs a 'pathways' mapping", file=source)
    out: dict[str, dict] = {}
    for name, entry in data["pathways"].items():
        if not isinstance(entry, dict):
            raise InputError(f"pathway {name!r} must be a mapping", file=source)
        onc = [str(g) for g in entry.get("oncogenes", []) or []]
        tsg = [str(g) for g in entry.get("tumor_suppressors", []) or []]
        if not onc and not tsg:
            raise InputError(f"pathway {name!r} lists no genes", file=source)
        out[str(name)] = {"oncogenes": onc, "tumor_suppressors": tsg}
    return out


DEFAULT_EXPRESSION_SIGNATURES = "conf/knowledge/expression_signatures.yaml"
DIRECTIONS = ("up", "down")


def load_expression_signatures(path: str | Path = DEFAULT_EXPRESSION_SIGNATURES) -> dict:
    """``{"signatures": {name: {genes, direction}}, "composites": {name: {plus, minus}}}``.

    A gene entry ``"NEW|OLD"`` names one gene by its symbols across annotation generations.
    Citations and notes stay in the file (they do not change a score).
    """
    source = resolve_path(path)
    data = _read_yaml(source)
    if not isinstance(data, dict) or not isinstance(data.get("signatures"), dict):
        raise InputError("an expression signature file needs a 'signatures' mapping",
                         file=source)
    signatures: dict[str, dict] = {}
    for name, entry in data["signatures"].items():
        where = f"signature {name!r}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be a mapping", file=source)
        genes = [str(g).strip() for g in entry.get("genes") or [] if str(g).strip()]
        if not genes:
            raise InputError(f"{where} lists no genes", file=source)
        if len(set(genes)) != len(genes):
            raise InputError(f"{where} lists a gene twice", file=source)
        direction = str(entry.get("direction", "up"))
        if direction not in DIRECTIONS:
            raise InputError(f"{where}: direction must be up or down", file=source)
        if not entry.get("citation"):
            raise InputError(f"{where} needs a 'citation'", file=source)
        signatures[str(name)] = {"genes": genes, "direction": direction}
    composites: dict[str, dict] = {}
    for name, entry in (data.get("composites") or {}).items():
        where = f"composite {name!r}"
        if not isinstance(entry, dict):
            raise InputError(f"{where} must be a mapping", file=source)
        plus = [str(s) for s in entry.get("plus") or []]
        minus = [str(s) for s in entry.get("minus") or []]
        unknown = [s for s in plus + minus if s not in signatures]
        if unknown:
            raise InputError(f"{where} uses unknown signature {unknown[0]!r}", file=source)
        if not plus and not minus:
            raise InputError(f"{where} lists no signature", file=source)
        if str(name) in signatures:
            raise InputError(f"{where} has the name of a signature", file=source)
        composites[str(name)] = {"plus": plus, "minus": minus}
    return {"signatures": signatures, "composites": composites}
