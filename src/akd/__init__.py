"""Attribution-guided knowledge distillation (Ballout et al., NLDB 2024) as importable stages.

Every workflow stage is a plain function in this package; the Snakemake rules only pass paths
and their config slice, so a stage can be called from Python without Snakemake (README).
"""

__version__ = "0.1.0"
