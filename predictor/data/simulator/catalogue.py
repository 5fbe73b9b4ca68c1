"""Fixed biological catalogue of the simulator: cancer types, genes, drivers, regimens.

Kept apart from the generating code so that every prevalence and every effect size the
ground truth depends on is visible in one place (and quoted in ``data/README.md``).
Numbers are rounded from published series (TCGA, AACR GENIE, FLAURA, COMBI-d, CodeBreaK,
SOLAR-1, KEYNOTE trials) and chosen for a clear but realistic signal, not for exactness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CANCER_TYPES = ("NSCLC", "Melanoma", "Colorectal", "Breast", "Bladder")
CANCER_FREQ = np.array([0.35, 0.20, 0.20, 0.15, 0.10])

PANEL_ID = "SIM_WES"
PANEL_MB = 30.0  # exome-like capture; TMB = nonsynonymous mutations / 30 Mb
STUDY_ID = "sim_predictor"

# Per cancer type (order of CANCER_TYPES).
MUT_MEDIAN = np.array([90.0, 130.0, 45.0, 30.0, 80.0])  # median mutations per tumour
MUT_SIGMA = 0.75  # log-normal spread of the mutation count
MSI_RATE = np.array([0.0, 0.0, 0.05, 0.0, 0.01])  # hypermutated (x10 mutations) fraction
TRUNK_SHARE_MEAN = np.array([0.65, 0.65, 0.55, 0.50, 0.55])  # clonal share of mutations
SUBCLONE_P = np.array([0.35, 0.30, 0.30, 0.35, 0.35])  # n_clones = 1 + Binomial(7, p)
PURITY_BETA = ((6.0, 5.0), (7.0, 4.0), (6.0, 4.0), (5.0, 5.0), (6.0, 5.0))
FEMALE_RATE = np.array([0.45, 0.40, 0.45, 0.99, 0.25])
AGE_MEAN = np.array([66.0, 62.0, 64.0, 58.0, 69.0])

# Variant classes of passenger mutations and their HGVSp_Short suffix kind.
PASSENGER_CLASSES = (
    "Missense_Mutation",
    "Silent",
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "Frame_Shift_Ins",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Splice_Site",
)
PASSENGER_CLASS_FREQ = np.array([0.60, 0.25, 0.05, 0.03, 0.015, 0.01, 0.005, 0.04])
# Variant_Type per passenger class.
PASSENGER_VARIANT_TYPE = ("SNP", "SNP", "SNP", "DEL", "INS", "DEL", "INS", "SNP")
NONSYNONYMOUS_PASSENGER = np.array([True, False, True, True, True, True, True, True])

AMINO_ACIDS = tuple("ACDEFGHIKLMNPQRSTVWY")

# Real genes that carry passenger mutations, with approximate protein length (weights the
# draw: long genes collect more passengers). No actionable or driver gene is in this list,
# so a passenger never fakes a drug target.
PASSENGER_GENES: dict[str, int] = {
    "TTN": 34350, "MUC16": 14507, "OBSCN": 7968, "SYNE1": 8797, "RYR2": 4967,
    "RYR1": 5038, "RYR3": 4870, "CSMD1": 3564, "CSMD3": 3707, "LRP1B": 4599,
    "USH2A": 5202, "FLG": 4061, "PCLO": 5142, "ZFHX4": 3567, "DNAH5": 4624,
    "DNAH11": 4516, "DNAH8": 4707, "HMCN1": 5635, "FAT3": 4557, "FAT4": 4981,
    "AHNAK2": 5795, "MUC17": 4493, "XIRP2": 3374, "APOB": 4563, "SPTA1": 2419,
    "COL11A1": 1806, "CNTNAP2": 1331, "PKHD1L1": 4243, "DMD": 3685, "NEB": 8525,
    "LAMA2": 3122, "ADGRV1": 6306, "HERC2": 4834, "ZNF536": 1300, "TPTE": 551,
    "SI": 1827, "ASTN1": 1302, "ANK2": 3957, "SCN1A": 2009, "PTPRD": 1912,
    "PTPRT": 1460, "NAV3": 2385, "GRIN2A": 1464, "KIAA1109": 5005, "VPS13B": 3997,
    "HCN1": 890, "TNR": 1358, "MYH7": 1935, "MYH2": 1941, "PAPPA2": 1791,
    "CDH10": 788, "SLIT2": 1529, "COL22A1": 1626, "UNC13C": 2214, "DCHS2": 3427,
    "ABCA13": 5058, "FBN2": 2912, "PCDH15": 1955, "SORCS3": 1222, "ZNF804B": 1349,
    "COL6A3": 3177, "THSD7B": 1608, "CUBN": 3623, "LRP2": 4655, "HYDIN": 5121,
    "CDH18": 790, "RELN": 3460, "SACS": 4579, "FSIP2": 6907, "NRXN1": 1547,
    "TG": 2768, "PXDNL": 1463, "CACNA1E": 2313, "KCNT2": 1135, "MAGEC1": 1142,
    "ADAMTS12": 1594, "PKHD1": 4074, "PLXNA4": 1894, "COL5A2": 1499, "MXRA5": 2828,
    "SPHKAP": 1700, "CNTN5": 1100, "OR4C6": 309, "OR2T4": 305, "OR5L2": 310,
    "OR4A15": 344, "DNAH7": 4024, "DNAH9": 4486, "DNAH3": 4116, "DNAH10": 4471,
    "MACF1": 7388, "DST": 7570, "PLEC": 4684, "HUWE1": 4374, "BIRC6": 4857,
    "UBR4": 5183, "LRRK2": 2527, "SZT2": 3432, "CENPF": 3210, "NBEA": 2946,
    "DYNC1H1": 4646, "AKAP9": 3907, "SVEP1": 3571, "THBS2": 1172, "COL3A1": 1466,
    "COL12A1": 3063, "VCAN": 3396, "EYS": 3165, "ZNF208": 1280, "PRDM9": 894,
    "KCNB2": 911, "SLITRK1": 696, "ELTD1": 690, "CTNNA2": 953, "GPR98": 6306,
    "SCN7A": 1682, "SCN9A": 1988, "CACNA1A": 2506, "TRPM3": 1732, "MYO18B": 2567,
    "ODZ1": 2725, "ZNF729": 1200, "MYT1L": 1186, "POTEE": 1075, "KRTAP10-4": 403,
}

# One driver or resistance variant: gene, protein change, class, MAF Variant_Type.
@dataclass(frozen=True)
class Variant:
    gene: str
    hgvsp: str
    vclass: str
    vtype: str = "SNP"


VARIANTS: dict[str, Variant] = {
    "EGFR_L858R": Variant("EGFR", "p.L858R", "Missense_Mutation"),
    "EGFR_EX19DEL": Variant("EGFR", "p.E746_A750del", "In_Frame_Del", "DEL"),
    "EGFR_T790M": Variant("EGFR", "p.T790M", "Missense_Mutation"),
    "EGFR_C797S": Variant("EGFR", "p.C797S", "Missense_Mutation"),
    "KRAS_G12C": Variant("KRAS", "p.G12C", "Missense_Mutation"),
    "KRAS_G12D": Variant("KRAS", "p.G12D", "Missense_Mutation"),
    "KRAS_G12V": Variant("KRAS", "p.G12V", "Missense_Mutation"),
    "KRAS_Y96D": Variant("KRAS", "p.Y96D", "Missense_Mutation"),
    "BRAF_V600E": Variant("BRAF", "p.V600E", "Missense_Mutation"),
    "NRAS_Q61K": Variant("NRAS", "p.Q61K", "Missense_Mutation"),
    "MAP2K1_K57N": Variant("MAP2K1", "p.K57N", "Missense_Mutation"),
    "PIK3CA_H1047R": Variant("PIK3CA", "p.H1047R", "Missense_Mutation"),
    "PIK3CA_E545K": Variant("PIK3CA", "p.E545K", "Missense_Mutation"),
    "PTEN_R130X": Variant("PTEN", "p.R130*", "Nonsense_Mutation"),
    "TP53_R175H": Variant("TP53", "p.R175H", "Missense_Mutation"),
    "TP53_R248Q": Variant("TP53", "p.R248Q", "Missense_Mutation"),
    "TP53_R273H": Variant("TP53", "p.R273H", "Missense_Mutation"),
    "STK11_Q37X": Variant("STK11", "p.Q37*", "Nonsense_Mutation"),
    "KEAP1_G333C": Variant("KEAP1", "p.G333C", "Missense_Mutation"),
    "B2M_L15FS": Variant("B2M", "p.L15fs", "Frame_Shift_Del", "DEL"),
    "JAK1_Q503X": Variant("JAK1", "p.Q503*", "Nonsense_Mutation"),
    "JAK2_I682FS": Variant("JAK2", "p.I682fs", "Frame_Shift_Ins", "INS"),
    "HLA-A_K68FS": Variant("HLA-A", "p.K68fs", "Frame_Shift_Del", "DEL"),
    "ERBB2_S310F": Variant("ERBB2", "p.S310F", "Missense_Mutation"),
    "MET_EX14": Variant("MET", "p.X1010_splice", "Splice_Site"),
    "APC_R1450X": Variant("APC", "p.R1450*", "Nonsense_Mutation"),
}
VARIANT_KEYS = tuple(VARIANTS)
VARIANT_INDEX = {k: i for i, k in enumerate(VARIANT_KEYS)}

# Founder driver: at most one per tumour (they are mutually exclusive in real tumours).
# Probabilities per cancer type; the remainder is "no founder driver".
FOUNDER: dict[str, tuple[float, float, float, float, float]] = {
    #                 NSCLC  Mel   CRC   Breast Bladder
    "EGFR_L858R":    (0.09, 0.0, 0.0, 0.0, 0.0),
    "EGFR_EX19DEL":  (0.11, 0.0, 0.0, 0.0, 0.0),
    "KRAS_G12C":     (0.13, 0.0, 0.04, 0.0, 0.01),
    "KRAS_G12D":     (0.05, 0.0, 0.18, 0.0, 0.02),
    "KRAS_G12V":     (0.07, 0.0, 0.12, 0.0, 0.0),
    "BRAF_V600E":    (0.03, 0.45, 0.09, 0.0, 0.0),
    "NRAS_Q61K":     (0.0, 0.25, 0.0, 0.0, 0.0),
    "PIK3CA_H1047R": (0.0, 0.0, 0.0, 0.22, 0.05),
    "PIK3CA_E545K":  (0.0, 0.0, 0.0, 0.13, 0.12),
}
FOUNDER_CLONAL = 0.85  # a founder driver sits in the trunk with this probability

# Co-occurring alterations drawn independently (TP53 picks one of its hotspots).
CO_ALTERATIONS: dict[str, tuple[float, float, float, float, float]] = {
    "TP53":         (0.50, 0.15, 0.60, 0.35, 0.50),
    "STK11_Q37X":   (0.14, 0.01, 0.01, 0.01, 0.01),
    "KEAP1_G333C":  (0.15, 0.01, 0.01, 0.01, 0.02),
    "PTEN_R130X":   (0.04, 0.08, 0.03, 0.05, 0.03),
    "B2M_L15FS":    (0.03, 0.05, 0.04, 0.01, 0.02),
    "JAK1_Q503X":   (0.02, 0.03, 0.02, 0.01, 0.02),
    "JAK2_I682FS":  (0.01, 0.02, 0.01, 0.01, 0.01),
    "HLA-A_K68FS":  (0.03, 0.03, 0.03, 0.01, 0.03),
    "ERBB2_S310F":  (0.02, 0.01, 0.02, 0.02, 0.05),
    "MET_EX14":     (0.03, 0.0, 0.0, 0.0, 0.0),
    "APC_R1450X":   (0.01, 0.02, 0.75, 0.01, 0.02),
    "PIK3CA_E545K": (0.04, 0.02, 0.12, 0.0, 0.0),
}
TP53_HOTSPOTS = ("TP53_R175H", "TP53_R248Q", "TP53_R273H")
CO_CLONAL = 0.7

# Pre-existing resistant subclones, conditional on the founder they resist:
# (resistance variant, founder variants it needs, probability first line, later lines).
RESISTANCE: tuple[tuple[str, tuple[str, ...], float, float], ...] = (
    ("EGFR_T790M", ("EGFR_L858R", "EGFR_EX19DEL"), 0.15, 0.45),
    ("EGFR_C797S", ("EGFR_L858R", "EGFR_EX19DEL"), 0.08, 0.15),
    ("KRAS_G12D", ("EGFR_L858R", "EGFR_EX19DEL"), 0.05, 0.08),
    ("KRAS_Y96D", ("KRAS_G12C",), 0.10, 0.15),
    ("NRAS_Q61K", ("BRAF_V600E",), 0.12, 0.20),
    ("MAP2K1_K57N", ("BRAF_V600E",), 0.10, 0.15),
)

# Gene-level copy number (GISTIC -2..2) reported for every sample.
CNA_GENES = ("MET", "ERBB2", "PTEN", "CDKN2A", "EGFR", "MYC", "CCND1", "KRAS", "SMAD4", "RB1")
# Focal events with biology: probability per cancer type of amplification (2) or deep loss (-2).
CNA_FOCAL: dict[str, tuple[int, tuple[float, float, float, float, float]]] = {
    "MET": (2, (0.03, 0.01, 0.01, 0.01, 0.01)),
    "ERBB2": (2, (0.02, 0.01, 0.03, 0.15, 0.08)),
    "PTEN": (-2, (0.04, 0.08, 0.03, 0.05, 0.04)),
    "CDKN2A": (-2, (0.20, 0.30, 0.02, 0.05, 0.25)),
    "MYC": (2, (0.05, 0.03, 0.03, 0.08, 0.04)),
    "CCND1": (2, (0.03, 0.03, 0.01, 0.12, 0.05)),
}
MET_AMP_EGFR_MUT = 0.10  # MET amplification is enriched in EGFR-mutant NSCLC
CNA_ARM_NOISE = 0.10  # probability of a one-copy gain (or loss) at any reported gene

# Drug -> mechanism class. Only these drugs are used (all in conf/knowledge/drugs.yaml).
DRUG_CLASS: dict[str, str] = {
    "osimertinib": "egfr_tki_3g", "erlotinib": "egfr_tki_1g", "gefitinib": "egfr_tki_1g",
    "dabrafenib": "braf_i", "vemurafenib": "braf_i", "trametinib": "mek_i",
    "sotorasib": "kras_g12c_i", "alpelisib": "pi3k_i",
    "pembrolizumab": "anti_pd1", "nivolumab": "anti_pd1",
    "atezolizumab": "anti_pdl1", "durvalumab": "anti_pdl1", "ipilimumab": "anti_ctla4",
    "carboplatin": "platinum", "cisplatin": "platinum", "oxaliplatin": "platinum",
    "pemetrexed": "antimetabolite", "gemcitabine": "antimetabolite",
    "fluorouracil": "antimetabolite", "paclitaxel": "taxane", "docetaxel": "taxane",
}
TARGETED_CLASSES = ("egfr_tki_1g", "egfr_tki_3g", "braf_i", "mek_i", "kras_g12c_i", "pi3k_i")
IMMUNE_CLASSES = ("anti_pd1", "anti_pdl1", "anti_ctla4")
CHEMO_CLASSES = ("platinum", "antimetabolite", "taxane")

REGIMENS = (
    "osimertinib",                        # 0
    "erlotinib",                          # 1
    "gefitinib",                          # 2
    "osimertinib+carboplatin+pemetrexed", # 3
    "dabrafenib+trametinib",              # 4
    "vemurafenib",                        # 5
    "sotorasib",                          # 6
    "alpelisib",                          # 7
    "pembrolizumab",                      # 8
    "nivolumab",                          # 9
    "atezolizumab",                       # 10
    "durvalumab",                         # 11
    "nivolumab+ipilimumab",               # 12
    "ipilimumab",                         # 13
    "carboplatin+pemetrexed",             # 14
    "carboplatin+pemetrexed+pembrolizumab",  # 15
    "carboplatin+paclitaxel",             # 16
    "carboplatin+paclitaxel+atezolizumab",  # 17
    "cisplatin+gemcitabine",              # 18
    "fluorouracil+oxaliplatin",           # 19
    "docetaxel",                          # 20
    "paclitaxel",                         # 21
    "gemcitabine",                        # 22
)
