"""Bulk tumour RNA-seq (linear TPM) from each patient's simulated micro-environment.

Why: the TME feature family scores marker programmes from expression; the simulated cohort
must carry expression that follows the same latent TME the mechanisms use, so the family is
exercised on the demo and the oracle still holds.

Model, per sample (one tumour sample per patient):

1. **Cell mixture.** The TME fractions (``cd8``, ``treg``, ``m1``/``m2`` macrophages, ``caf``,
   other ``stroma``) are read as fractions of the non-malignant cells; NK cells
   (0.35 x CD8 x LogNormal(0, 0.5)), B cells/TLS (0.5 x CD8 x LogNormal(0, 0.8)) and
   endothelium (0.08 x MVD/60 x LogNormal(0, 0.2)) are added, the rest is other normal tissue
   (scaled down when the fractions exceed 1). Malignant cells take ``purity`` of the sample, so
   every micro-environment signal is diluted by purity. Cells contribute RNA in proportion to
   their RNA content (tumour 1.5, lymphocytes 0.6, myeloid/stromal 1.0, endothelium 0.8).
2. **Cell-type profiles.** Each compartment has a TPM profile of published marker genes
   (``CELL_MARKERS``; many are shared: GZMB/PRF1/NKG7 by CD8 and NK, CD68/C1Q by both
   macrophage states, COL1A1 by CAF and fibroblasts, CXCL9 by M1 and IFN-exposed tumour) over
   a low baseline, plus background genes (log-normal levels, 30% with cell-type-specific
   levels).
3. **Cell states** multiply marker levels, ``exp(lfc x state)``: hypoxia (HIF targets, in
   tumour and at half strength in stroma), acidity ``(7.4 - pH) / 0.6`` (glycolysis and pH
   regulators), NRF2 = oxidative stress + 0.8 KEAP1 mutation, IFN-gamma
   ``1 - exp(-(CD8 + 0.6 NK) / 0.05)`` (interferon-stimulated genes, MHC-I, PD-L1; blunted
   x0.15 in the tumour with JAK1/JAK2 loss), proliferation ``N(0, 1)``; B2M loss silences
   tumour B2M, HLA-A loss halves tumour HLA-A, copy number scales tumour expression of the CNA
   genes (deep loss x0.05 ... amplification x6); lineage genes follow the cancer type; the
   Y-linked EIF1AY is expressed in men only.
4. **Measurement.** Gene x sample biological noise LogNormal(0, sd_g) (0.4 for named genes,
   ~Gamma(6, 0.5/6) for background ones), a gene x site batch factor LogNormal(0, 0.15), an
   RNA-quality bias per sample ``length_g ** N(0, 0.15)``, Poisson read sampling (reads per
   TPM = 3 x LogNormal(0, 0.3) per sample x LogNormal(0, 0.6) per gene length), renormalised
   to TPM over the notional full transcriptome (a small panel is a subset of a ~20,000-gene
   profile, as if the other genes were dropped from the file), rounded to 3 significant
   digits. Low genes read 0.

Gene names: markers are real HGNC symbols; background genes are named ``GENE00001`` ...
(not real genes). The default small panel has ``N_SMALL_BACKGROUND`` background genes; the full
width has ``N_FULL_GENES`` genes in all.

Randomness: one stream ``SeedSequence(seed, spawn_key=(EXPRESSION_KEY,))``, independent of the
streams of the other generators, so turning expression on or off changes no other table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.data.expression import Expression
from predictor.data.simulator import catalogue as K

EXPRESSION_KEY = 0x45585052  # "EXPR": a spawn key no generator stream of SeedSequence(seed) uses
MODES = ("small", "full", "none")
N_SMALL_BACKGROUND = 800
N_FULL_GENES = 20_000
BASELINE_TPM = 0.4  # a marker's level in compartments that do not express it
MARKER_NOISE_SD = 0.4  # log-scale gene x sample biological noise of the named genes
COMPARTMENTS = ("tumour", "cd8", "treg", "nk", "b_cell", "m1", "m2", "caf", "fibroblast",
                "endothelial", "normal")
RNA_CONTENT = np.array([1.5, 0.6, 0.6, 0.6, 0.6, 1.0, 1.0, 1.0, 1.0, 0.8, 1.0])
_LYMPH = ("cd8", "treg", "nk", "b_cell")
_MYELOID = ("m1", "m2")
_IMMUNE = _LYMPH + _MYELOID

# Pure cell-type TPM of published markers (CIBERSORT/LM22, Danaher 2017, Bindea 2013, MCP-counter,
# Ayers 2017 IFN-gamma/T-cell-inflamed, Wang 2019 CAF/TGF-beta, Buffa 2010 hypoxia).
CELL_MARKERS: dict[str, dict[str, float]] = {
    "cd8": {"CD8A": 300, "CD8B": 200, "CD3D": 400, "CD3E": 300, "CD2": 300, "CD247": 100,
            "GZMA": 400, "GZMB": 250, "GZMK": 200, "GZMH": 200, "PRF1": 200, "NKG7": 500,
            "IFNG": 40, "CCL5": 800, "CXCL13": 30, "PDCD1": 40, "LAG3": 40, "TIGIT": 50,
            "HAVCR2": 30, "CD27": 100, "PTPRC": 500, "CD3G": 200, "CTSW": 100, "KLRK1": 100,
            "CXCR6": 80, "EOMES": 40, "LAT": 100, "SKAP1": 100, "XCL1": 10, "CD84": 30},
    "treg": {"FOXP3": 150, "IL2RA": 150, "CTLA4": 200, "IKZF2": 60, "CCR8": 50,
             "TNFRSF18": 80, "TNFRSF4": 80, "CD3D": 400, "CD3E": 300, "CD2": 200, "CD4": 150,
             "TIGIT": 100, "CD27": 80, "CD247": 80, "LAG3": 10, "TGFB1": 80, "PTPRC": 500,
             "CD3G": 200, "LAT": 100, "SKAP1": 100, "CCR6": 20, "CD84": 30},
    "nk": {"NCAM1": 40, "KLRD1": 300, "KLRF1": 150, "NCR1": 60, "GNLY": 1500, "NKG7": 800,
           "GZMB": 500, "PRF1": 400, "KLRB1": 200, "FCGR3A": 300, "CD247": 150, "CCL5": 500,
           "GZMA": 200, "IFNG": 40, "PTPRC": 500, "CTSW": 200, "KLRK1": 200, "XCL1": 100,
           "XCL2": 100, "EOMES": 40, "LAT": 60},
    "b_cell": {"MS4A1": 400, "CD79A": 800, "CD79B": 400, "CD19": 100, "CR2": 40, "CXCL13": 60,
               "LTB": 300, "CCR7": 150, "CD22": 80, "BANK1": 60, "SELL": 100, "TCL1A": 80,
               "MZB1": 200, "JCHAIN": 500, "IGHM": 2000, "PTPRC": 500, "BLK": 60,
               "FAM30A": 40, "FCRL2": 40, "PNOC": 20, "SPIB": 80, "TNFRSF17": 150, "CD1D": 40,
               "CCR6": 60, "CETP": 10, "RBP5": 20, "HLA-DQA1": 300, "HLA-DRB1": 1000,
               "CD84": 30},
    "m1": {"CD68": 500, "CD14": 300, "FCGR1A": 150, "NOS2": 10, "IL12B": 20, "CXCL9": 200,
           "CXCL10": 200, "CXCL11": 100, "IDO1": 60, "TNF": 60, "IL1B": 300, "CD80": 30,
           "CD86": 100, "IRF5": 80, "HLA-DRA": 2000, "CD274": 60, "FCGR3A": 200,
           "TYROBP": 800, "AIF1": 500, "LYZ": 2000, "C1QA": 200, "C1QB": 200, "PTPRC": 400,
           "SOCS3": 150, "CMKLR1": 40, "HLA-DQA1": 300, "HLA-DRB1": 1500, "PDCD1LG2": 30,
           "CD84": 80, "CD33": 60, "ITGAM": 80, "S100A8": 500, "S100A9": 800, "S100A12": 50,
           "CXCR2": 20, "OLR1": 40, "CXCL2": 100, "CXCL3": 40, "CXCL8": 200, "IL6": 20,
           "PTGS2": 50, "SLC2A3": 100},
    "m2": {"CD68": 500, "CD14": 400, "CD163": 400, "MRC1": 300, "MS4A4A": 200, "MSR1": 150,
           "CD209": 60, "F13A1": 200, "STAB1": 100, "IL10": 30, "TGFB1": 150, "VSIG4": 200,
           "C1QA": 800, "C1QB": 800, "C1QC": 700, "APOE": 800, "LYVE1": 80, "SIGLEC1": 60,
           "FCGR3A": 200, "TYROBP": 800, "AIF1": 500, "HLA-DRA": 1000, "LYZ": 1000,
           "CD274": 30, "VEGFA": 40, "HMOX1": 300, "PTPRC": 400, "CCL18": 300,
           "CMKLR1": 60, "HLA-DQA1": 200, "HLA-DRB1": 1000, "PDCD1LG2": 20, "CD84": 80,
           "CD33": 60, "ITGAM": 80, "S100A8": 200, "S100A9": 300, "ARG1": 10, "CD1D": 20},
    "caf": {"FAP": 150, "COL1A1": 5000, "COL1A2": 4000, "COL3A1": 5000, "COL5A1": 600,
            "COL11A1": 300, "ACTA2": 2000, "TAGLN": 1500, "POSTN": 1500, "PDGFRB": 300,
            "THY1": 300, "DCN": 1500, "LUM": 1500, "FN1": 3000, "SPARC": 3000, "TGFB1": 100,
            "MMP2": 800, "CTHRC1": 400, "LRRC15": 100, "TGFB3": 80, "INHBA": 100,
            "VCAN": 500, "PDPN": 150, "COL6A3": 600, "ACTG2": 100, "ADAM12": 80, "ADAM19": 40,
            "CNN1": 100, "CCN2": 800, "RFLNB": 100, "FSTL3": 60, "IGFBP3": 200, "PXDC1": 40,
            "SEMA7A": 40, "SH3PXD2A": 30, "TGFBI": 800, "TNS1": 200, "TPM1": 800, "IL6": 30,
            "CXCL1": 40, "PTGS2": 20},
    "fibroblast": {"DCN": 3000, "LUM": 2500, "COL1A1": 1500, "COL1A2": 2000, "COL3A1": 2000,
                   "PDGFRA": 200, "CFD": 2000, "GSN": 1500, "C7": 300, "FBLN1": 800,
                   "SPARC": 1500, "PDGFRB": 100, "FN1": 800, "THY1": 100, "ACTA2": 200,
                   "COL6A3": 300, "PTGDS": 200, "PDPN": 50, "CD34": 50},
    "endothelial": {"PECAM1": 400, "VWF": 1500, "KDR": 150, "CDH5": 300, "CLDN5": 400,
                    "ESAM": 300, "TEK": 80, "FLT1": 250, "EMCN": 200, "ENG": 400,
                    "PLVAP": 500, "RGS5": 200, "SPARC": 800, "ACTA2": 300, "PDGFRB": 100,
                    "ANGPT2": 40, "ESM1": 30, "COL4A1": 600, "COL4A2": 500, "CD34": 400},
    "tumour": {"EPCAM": 300, "KRT8": 1000, "KRT18": 1000, "KRT19": 600, "CD274": 5,
               "ESRP1": 40, "ABCC2": 5, "CD276": 30, "CXCL8": 20, "CXCL1": 10},
}
LINEAGE: dict[str, dict[str, float]] = {  # tumour-cell lineage genes by cancer type
    "NSCLC": {"NKX2-1": 60, "NAPSA": 300, "SFTPB": 300},
    "Melanoma": {"PMEL": 800, "MLANA": 500, "TYR": 200, "SOX10": 100},
    "Colorectal": {"CDX2": 80, "VIL1": 200, "CDH17": 300, "LGALS4": 400},
    "Breast": {"ESR1": 60, "GATA3": 100, "KRT7": 300},
    "Bladder": {"UPK1B": 200, "UPK2": 100, "GATA3": 100, "KRT7": 300},
}
# Expressed by every compartment at about the same level (housekeeping, MHC-I, CNA genes).
UBIQUITOUS: dict[str, float] = {
    "ACTB": 3000, "GAPDH": 2000, "RPLP0": 1500, "PPIA": 800, "TBP": 10, "HPRT1": 20,
    "PGK1": 150, "EEF1A1": 4000, "TUBB": 400, "UBC": 500, "YWHAZ": 300, "SDHA": 50,
    "GUSB": 40, "HMBS": 20, "B2M": 1500, "HLA-A": 600, "HLA-B": 800, "HLA-C": 600,
    "TAP1": 50, "TAP2": 30, "PSMB8": 60, "PSMB9": 50, "STAT1": 60, "IRF1": 30, "GBP1": 40,
    "GBP5": 10, "CIITA": 3, "HLA-DRA": 5, "CXCL9": 0.5, "CXCL10": 1, "CXCL11": 0.5,
    "IDO1": 0.5, "CD274": 5, "MET": 10, "ERBB2": 30, "PTEN": 30, "CDKN2A": 10, "EGFR": 20,
    "MYC": 60, "CCND1": 50, "KRAS": 20, "SMAD4": 20, "RB1": 15, "KEAP1": 30,
    "VEGFA": 40, "LDHA": 400, "ENO1": 800, "ALDOA": 600, "PKM": 600, "GPI": 200,
    "TPI1": 400, "SLC2A1": 15, "CA9": 1, "ADM": 8, "BNIP3": 30, "NDRG1": 50, "ANKRD37": 3,
    "P4HA1": 20, "EGLN3": 4, "HK2": 8, "PFKFB3": 10, "PFKP": 30, "LOX": 8, "ANGPTL4": 8,
    "ERO1A": 20, "MXI1": 20, "KDM3A": 20, "SLC16A3": 10, "CA12": 10, "SLC9A1": 20,
    "NQO1": 40, "HMOX1": 20, "TXNRD1": 30, "GCLM": 15, "GCLC": 15, "SLC7A11": 3,
    "SRXN1": 10, "AKR1C1": 8, "AKR1C2": 5, "G6PD": 30, "OSGIN1": 5, "ME1": 15, "TXN": 300,
    "PRDX1": 400, "HLA-E": 300, "PSMB10": 40, "TAPBP": 100, "NLRC5": 10, "AKR1C3": 10,
    "PGAM1": 200, "MRPS17": 20, "TUBB6": 40, "MIF": 500, "ACOT7": 30, "SLC16A1": 20,
    "UTP11": 20, "PNP": 40, "HILPDA": 10, "MRGBP": 15, "AK4": 10, "SEC61G": 100, "PSMA7": 150,
    "MRPL15": 30, "SLC25A32": 8, "DDIT4": 30, "CORO1C": 60, "MAP7D1": 40, "MCTS1": 30,
    "MAD2L2": 30, "MRPL13": 30, "YKT6": 40, "TUBA1B": 500, "TUBA1C": 100, "CHCHD2": 200,
    "PSRC1": 15, "CTSV": 10, "LRRC42": 8, "HSPB1": 300, "CTPS1": 20, "SLC2A3": 10,
    "EIF1AY": 15, "CDKN3": 5, "SHCBP1": 3, "KIF20A": 4, "ANLN": 8, "KIF4A": 3, "CDC20": 8,
    "NUF2": 3, "CEP55": 4, "NDC80": 4, "PTTG1": 30, "RRM2": 15, "TYMS": 20,
    "MKI67": 8, "TOP2A": 15, "CCNB1": 20, "BIRC5": 10, "CDK1": 10,
    "MCM2": 15, "PCNA": 60, "AURKA": 6, "BUB1": 4, "CENPF": 10, "E2F1": 4, "UBE2C": 15,
}
# Cell states: gene -> log fold change per unit of the state, and the compartments it acts in.
_STROMAL = ("caf", "fibroblast", "endothelial", *_MYELOID)
STATES: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "hypoxia": (("tumour", *_STROMAL), {
        "CA9": 3.7, "VEGFA": 1.8, "SLC2A1": 1.8, "ADM": 2.1, "BNIP3": 1.4, "NDRG1": 1.6,
        "ANKRD37": 1.6, "P4HA1": 1.1, "EGLN3": 1.8, "PGK1": 1.1, "LDHA": 1.1, "ENO1": 0.7,
        "HK2": 1.4, "PFKFB3": 1.1, "ALDOA": 0.7, "LOX": 1.4, "ANGPTL4": 1.8, "ERO1A": 1.1,
        "MXI1": 1.1, "KDM3A": 0.7, "HILPDA": 1.6, "AK4": 1.4, "DDIT4": 1.4, "SLC2A3": 1.1,
        "PGAM1": 0.5, "TPI1": 0.4, "MRPS17": 0.4, "TUBB6": 0.5, "MIF": 0.4, "ACOT7": 0.4,
        "SLC16A1": 0.5, "UTP11": 0.3, "PNP": 0.4, "MRGBP": 0.4, "SEC61G": 0.4, "PSMA7": 0.3,
        "MRPL15": 0.3, "SLC25A32": 0.4, "CORO1C": 0.4, "MAP7D1": 0.4, "MCTS1": 0.3,
        "MAD2L2": 0.3, "MRPL13": 0.3, "YKT6": 0.3, "TUBA1B": 0.3, "TUBA1C": 0.4,
        "CHCHD2": 0.3, "PSRC1": 0.4, "CTSV": 0.5, "LRRC42": 0.4, "ESRP1": 0.3,
        "CXCL8": 0.7, "GAPDH": 0.4}),
    "acidity": (("tumour", *_STROMAL), {
        "SLC16A3": 1.8, "CA12": 1.4, "SLC9A1": 0.7, "LDHA": 0.4, "PKM": 0.4, "GPI": 0.4,
        "TPI1": 0.4, "HK2": 0.4, "PFKP": 0.7}),
    "nrf2": (("tumour", *_STROMAL), {
        "NQO1": 2.1, "HMOX1": 1.8, "TXNRD1": 1.4, "GCLM": 1.4, "GCLC": 1.1, "SLC7A11": 2.3,
        "SRXN1": 1.6, "AKR1C1": 2.3, "AKR1C2": 2.1, "G6PD": 1.1, "OSGIN1": 1.6, "ME1": 1.1,
        "TXN": 0.7, "PRDX1": 0.4, "AKR1C3": 1.8, "ABCC2": 1.4}),
    "ifn_gamma": (("tumour", "endothelial", *_MYELOID), {
        "STAT1": 1.8, "IRF1": 1.6, "CXCL9": 3.0, "CXCL10": 3.0, "CXCL11": 2.7, "IDO1": 3.0,
        "GBP1": 2.1, "GBP5": 2.3, "CD274": 1.8, "HLA-A": 0.7, "HLA-B": 0.9, "HLA-C": 0.7,
        "B2M": 0.7, "TAP1": 1.6, "TAP2": 1.1, "PSMB8": 1.6, "PSMB9": 1.6, "HLA-DRA": 1.8,
        "CIITA": 1.8, "HLA-E": 0.7, "PSMB10": 1.4, "TAPBP": 0.9, "NLRC5": 1.4, "HLA-DRB1": 1.8,
        "HLA-DQA1": 1.6, "PDCD1LG2": 1.4, "SOCS3": 0.7}),
    "proliferation": (("tumour",), {
        "MKI67": 0.8, "TOP2A": 0.8, "CCNB1": 0.7, "BIRC5": 0.7, "CDK1": 0.7, "MCM2": 0.5,
        "PCNA": 0.4, "AURKA": 0.7, "BUB1": 0.8, "CENPF": 0.7, "E2F1": 0.6, "UBE2C": 0.8,
        "CDKN3": 0.8, "SHCBP1": 0.8, "KIF20A": 0.8,
        "ANLN": 0.7, "KIF4A": 0.8, "CDC20": 0.8, "NUF2": 0.8, "CEP55": 0.8, "NDC80": 0.8,
        "PTTG1": 0.5, "RRM2": 0.8, "TYMS": 0.6, "MAD2L2": 0.3, "TUBA1B": 0.3, "PSRC1": 0.4}),
}
_STROMA_STATE_WEIGHT = 0.5  # hypoxia/acidity/NRF2 act at half strength outside the tumour
PROLIFERATION_OFFSET = np.array([0.2, 0.3, 0.4, -0.2, 0.3])  # by K.CANCER_TYPES
CNA_FACTOR = {-2: 0.05, -1: 0.6, 0: 1.0, 1: 1.5, 2: 6.0}

# Marker programmes for checks and documentation (not the feature family's gene sets).
PROGRAMMES: dict[str, tuple[str, ...]] = {
    "cd8": ("CD8A", "CD8B", "GZMA", "GZMB", "GZMK", "PRF1", "CD3E", "NKG7"),
    "treg": ("FOXP3", "IL2RA", "CTLA4", "CCR8", "IKZF2", "TNFRSF18"),
    "m1_macrophage": ("NOS2", "IL12B", "CD80", "IL1B", "TNF", "CXCL10", "FCGR1A"),
    "m2_macrophage": ("CD163", "MRC1", "MS4A4A", "F13A1", "VSIG4", "CD209", "STAB1"),
    "caf": ("FAP", "COL11A1", "POSTN", "CTHRC1", "LRRC15", "INHBA", "ACTA2", "COL1A1"),
    "stroma": ("DCN", "LUM", "COL1A2", "COL3A1", "PDGFRA", "CFD", "C7", "FBLN1"),
    "microvessel_density": ("PECAM1", "VWF", "KDR", "CDH5", "CLDN5", "ESAM", "EMCN", "TEK"),
    "hypoxia": ("CA9", "VEGFA", "SLC2A1", "ADM", "BNIP3", "NDRG1", "ANKRD37", "EGLN3",
                "ANGPTL4", "P4HA1"),
    "acidity": ("SLC16A3", "CA12", "LDHA", "PFKP", "HK2", "SLC9A1"),
    "oxidative_stress": ("NQO1", "HMOX1", "TXNRD1", "GCLM", "SLC7A11", "SRXN1", "AKR1C1",
                         "OSGIN1"),
    "ifn_gamma": ("IFNG", "STAT1", "CXCL9", "CXCL10", "IDO1", "GBP5", "CD274", "TAP1"),
    "mhc_i": ("HLA-A", "HLA-B", "HLA-C", "B2M", "TAP1", "PSMB8"),
    "nk": ("KLRD1", "KLRF1", "NCR1", "GNLY", "NCAM1"),
    "b_cell": ("MS4A1", "CD79A", "CD79B", "CD19", "CR2", "TCL1A"),
    "proliferation": ("MKI67", "TOP2A", "CCNB1", "BIRC5", "CDK1", "AURKA", "BUB1", "UBE2C"),
}


def expression_rng(seed: int) -> np.random.Generator:
    """The expression stream: derived from the cohort seed, disjoint from the other streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(EXPRESSION_KEY,)))


def marker_genes() -> list[str]:
    """Every named gene the simulator models, in a fixed order."""
    names: dict[str, None] = {}
    for table in (UBIQUITOUS, *CELL_MARKERS.values(), *LINEAGE.values()):
        names.update(dict.fromkeys(table))
    for _, lfc in STATES.values():
        names.update(dict.fromkeys(lfc))
    return list(names)


def _marker_profiles(genes: list[str]) -> np.ndarray:
    """(compartments, genes) baseline TPM of the named genes (lineage genes excluded: per type)."""
    prof = np.full((len(COMPARTMENTS), len(genes)), BASELINE_TPM)
    tumour = COMPARTMENTS.index("tumour")
    col = {g: j for j, g in enumerate(genes)}
    for g, tpm in UBIQUITOUS.items():
        prof[:, col[g]] = tpm
    for g in ("B2M", "HLA-A", "HLA-B", "HLA-C", "TAP1", "PSMB8", "PSMB9", "STAT1"):
        for c in _IMMUNE:  # immune cells carry more antigen-presentation machinery
            prof[COMPARTMENTS.index(c), col[g]] *= 3.0
    for c, table in CELL_MARKERS.items():
        for g, tpm in table.items():
            prof[COMPARTMENTS.index(c), col[g]] = max(prof[COMPARTMENTS.index(c), col[g]], tpm)
    for g in ("HLA-DRB1", "HLA-DQA1", "PDCD1LG2", "SOCS3"):  # IFN-inducible in the tumour
        prof[tumour, col[g]] = max(prof[tumour, col[g]], 2.0)
    for table in LINEAGE.values():
        for g in table:
            prof[COMPARTMENTS.index("tumour"), col[g]] = BASELINE_TPM
    return prof


def _state_lfc(genes: list[str]) -> dict[str, np.ndarray]:
    """Per state, a (compartments, genes) log fold change per unit of the state."""
    col = {g: j for j, g in enumerate(genes)}
    out = {}
    for name, (comps, lfc) in STATES.items():
        mat = np.zeros((len(COMPARTMENTS), len(genes)))
        for c in comps:
            weight = 1.0 if c == "tumour" or name in ("ifn_gamma", "proliferation") \
                else _STROMA_STATE_WEIGHT
            for g, v in lfc.items():
                mat[COMPARTMENTS.index(c), col[g]] = weight * v
        out[name] = mat
    return out


def _states(tme: dict, keap1: np.ndarray, nk: np.ndarray, rng: np.random.Generator,
            cancer: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "hypoxia": tme["hypoxia"],
        "acidity": np.clip((7.4 - tme["ph"]) / 0.6, 0.0, 1.5),
        "nrf2": tme["oxidative_stress"] + 0.8 * keap1,
        "ifn_gamma": 1.0 - np.exp(-(tme["cd8"] + 0.6 * nk) / 0.05),
        "proliferation": PROLIFERATION_OFFSET[cancer] + rng.standard_normal(len(cancer)),
    }


def _fractions(tme: dict, purity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(samples, compartments) cell fractions summing to 1."""
    n = len(purity)
    nk = 0.35 * tme["cd8"] * rng.lognormal(0.0, 0.5, n)
    b = 0.5 * tme["cd8"] * rng.lognormal(0.0, 0.8, n)
    endo = 0.08 * tme["microvessel_density"] / 60.0 * rng.lognormal(0.0, 0.2, n)
    fib = np.maximum(tme["stroma"] - tme["caf"], 0.0)
    env = np.column_stack([tme["cd8"], tme["treg"], nk, b, tme["m1_macrophage"],
                           tme["m2_macrophage"], tme["caf"], fib, endo])
    total = env.sum(axis=1)
    env = env / np.maximum(total, 1.0)[:, None]
    normal = 1.0 - env.sum(axis=1)
    return np.column_stack([purity, (1.0 - purity)[:, None] * env, (1.0 - purity) * normal])


def simulate_expression(
    *,
    sample_ids: list[str],
    patient_ids: list[str],
    cancer: np.ndarray,
    site: np.ndarray,
    purity: np.ndarray,
    cna: np.ndarray,
    keap1: np.ndarray,
    jak_loss: np.ndarray,
    b2m_loss: np.ndarray,
    hla_a_loss: np.ndarray,
    tme: dict,
    female: np.ndarray,
    seed: int,
    full_width: bool = False,
    chunk: int | None = None,
) -> tuple[Expression, pd.DataFrame]:
    """Linear-scale TPM (genes x samples) and the true TME state behind it (one row per patient).

    ``tme`` is the simulator's TME draw (the unrounded values behind ``data_tme.txt``);
    the genomic arrays are per sample. ``full_width`` writes ``N_FULL_GENES`` genes instead of the
    markers plus ``N_SMALL_BACKGROUND`` background genes.
    """
    rng = expression_rng(seed)
    n = len(sample_ids)
    markers = marker_genes()
    n_bg = (N_FULL_GENES - len(markers)) if full_width else N_SMALL_BACKGROUND
    n_full_bg = N_FULL_GENES - len(markers)
    genes = markers + [f"GENE{i:05d}" for i in range(1, n_bg + 1)]
    n_mark, n_genes = len(markers), len(markers) + n_bg

    # Gene-level constants (drawn first so they do not depend on the number of patients).
    prof_m = _marker_profiles(markers)
    bg_level = rng.lognormal(np.log(6.0), 1.9, n_full_bg)[:n_bg]
    bg_off = rng.random(n_full_bg)[:n_bg] < 0.1
    bg_level = np.where(bg_off, bg_level * 0.02, bg_level)
    specific = rng.random((n_full_bg,))[:n_bg] < 0.3
    bg_cell = rng.normal(0.0, 1.0, (len(COMPARTMENTS), n_full_bg))[:, :n_bg]
    bg_cell = np.exp(np.where(specific, bg_cell, 0.15 * bg_cell))
    noise_sd = np.concatenate([np.full(n_mark, MARKER_NOISE_SD),
                               rng.gamma(6.0, 0.5 / 6.0, n_full_bg)[:n_bg]])
    batch = rng.lognormal(0.0, 0.15, (3, n_full_bg + n_mark))[:, :n_genes]
    length = rng.lognormal(0.0, 0.6, n_full_bg + n_mark)[:n_genes]
    # Each compartment's full transcriptome sums to 1e6 TPM: markers + all background genes.
    target = 1e6 - prof_m.sum(axis=1)
    mean_bg = np.exp(np.log(6.0) + 1.9**2 / 2) * (0.9 + 0.1 * 0.02)
    scale = target / (mean_bg * n_full_bg)
    prof_bg = scale[:, None] * bg_level[None, :] * bg_cell
    remainder = np.maximum(target - prof_bg.sum(axis=1), 0.0)
    lfc = _state_lfc(markers)
    col = {g: j for j, g in enumerate(markers)}
    tumour = COMPARTMENTS.index("tumour")

    # Sample-level draws.
    frac = _fractions(tme, purity, rng)
    nk_frac = frac[:, COMPARTMENTS.index("nk")] / np.maximum(1.0 - purity, 1e-9)
    states = _states(tme, keap1.astype(float), nk_frac, rng, cancer)
    reads_per_tpm = 3.0 * rng.lognormal(0.0, 0.3, n)
    degradation = rng.normal(0.0, 0.15, n)  # RNA quality: a length bias per sample
    weight = frac * RNA_CONTENT[None, :]
    weight /= weight.sum(axis=1, keepdims=True)

    # Tumour-specific multipliers of named genes: lineage, CNA, B2M/HLA-A loss, JAK blunting.
    tum_mult = np.ones((n_mark, n))
    for k, ctype in enumerate(K.CANCER_TYPES):
        for g, tpm in LINEAGE[ctype].items():
            tum_mult[col[g], cancer == k] = tpm / BASELINE_TPM
    cna_factor = np.array([CNA_FACTOR[c] for c in range(-2, 3)])[cna.astype(int) + 2]
    for j, g in enumerate(K.CNA_GENES):
        tum_mult[col[g]] *= cna_factor[:, j]
    tum_mult[col["B2M"]] *= np.where(b2m_loss, 0.05, 1.0)
    tum_mult[col["HLA-A"]] *= np.where(hla_a_loss, 0.5, 1.0)
    ifn_tumour = np.where(jak_loss, 0.15, 1.0)
    y_linked = np.where(female, 0.01, 1.0)  # EIF1AY (chromosome Y): men only

    # Compartments that respond to the states alike share one exp() (tumour stays apart).
    names = list(lfc)
    lfc_all = np.stack([lfc[k] for k in names])  # (states, compartments, genes)
    state_mat = np.column_stack([states[k] for k in names])  # (samples, states)
    tumour_states = state_mat.copy()
    tumour_states[:, names.index("ifn_gamma")] *= ifn_tumour
    groups: dict[bytes, list[int]] = {}
    for c in range(len(COMPARTMENTS)):
        key = b"tumour" if c == tumour else lfc_all[:, c, :].tobytes()
        groups.setdefault(key, []).append(c)

    values = np.empty((n_genes, n), dtype=np.float32)
    step = chunk or max(1, int(5e6 // n_genes))  # ~40 MB per float64 temporary
    for lo in range(0, n, step):
        s = slice(lo, min(n, lo + step))
        m = s.stop - s.start
        # Named genes: sum over compartments of RNA weight x profile x exp(state effects).
        named = np.zeros((m, n_mark))
        for comps in groups.values():
            is_tumour = comps == [tumour]
            st = tumour_states[s] if is_tumour else state_mat[s]
            part = (weight[s][:, comps] @ prof_m[comps]) * np.exp(st @ lfc_all[:, comps[0], :])
            named += part * tum_mult[:, s].T if is_tumour else part
        expected = np.empty((n_genes, m))
        expected[:n_mark] = named.T
        expected[col["EIF1AY"]] *= y_linked[s]
        expected[n_mark:] = (weight[s] @ prof_bg).T
        hidden = weight[s] @ remainder
        x = expected * np.exp(noise_sd[:, None] * rng.standard_normal((n_genes, m)))
        x *= batch[site[s]].T * np.exp(np.log(length)[:, None] * degradation[s][None, :])
        rate = x * length[:, None] * reads_per_tpm[s][None, :]
        obs = rng.poisson(rate) / (length[:, None] * reads_per_tpm[s][None, :])
        tpm = obs * (1e6 / (obs.sum(axis=0) + hidden))[None, :]
        values[:, s] = _round_sig(tpm, 3)

    expression = Expression(values, pd.Index(genes), pd.Index(sample_ids), unit="tpm")
    truth = pd.DataFrame({"patient_id": patient_ids, "sample_id": sample_ids})
    for c, name in enumerate(COMPARTMENTS):
        truth[f"true_{name}_fraction"] = frac[:, c]
    for name, value in states.items():
        truth[f"true_{name}"] = value
    return expression, truth.round(6)


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    """Round to ``digits`` significant digits (0 stays 0), as a lab file would print them."""
    out = np.zeros_like(x)
    nz = x > 0
    mag = np.floor(np.log10(x[nz]))
    factor = 10.0 ** (digits - 1 - mag)
    out[nz] = np.round(x[nz] * factor) / factor
    return out
