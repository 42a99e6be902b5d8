import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    table = stages.aggregate(snakemake.params.runs, snakemake.params.teacher, snakemake.output.csv,
                             snakemake.output.md, snakemake.output.plot, snakemake.output.k_plot,
                             snakemake.output.similarity, snakemake.params.references)
