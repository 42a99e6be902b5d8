from akd import stages
from akd.smk import job

with job(snakemake):
    out = snakemake.output
    stages.teacher_table(snakemake.params.tables, out.csv, out.md, out.html)
