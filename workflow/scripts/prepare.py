from akd import stages
from akd.smk import job

with job(snakemake):
    stages.prepare(snakemake.params.dataset, dict(snakemake.output.items()))
