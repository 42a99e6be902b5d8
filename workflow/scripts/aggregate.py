from akd import stages
from akd.smk import job

with job(snakemake):
    table = stages.aggregate(snakemake.params.runs, snakemake.params.teacher, snakemake.output.csv,
                             snakemake.output.md, snakemake.output.plot, snakemake.output.k_plot,
                             snakemake.output.similarity, snakemake.params.references)
