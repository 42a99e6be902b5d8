from akd import stages
from akd.smk import job

with job(snakemake):
    stages.teacher_table(snakemake.params.tables, snakemake.output.csv, snakemake.output.md)
