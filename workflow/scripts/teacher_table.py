from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    out = snakemake.output
    stages.teacher_table(with_paths(snakemake.params.tables, metrics=snakemake.input.metrics), out.csv, out.md, out.html)
