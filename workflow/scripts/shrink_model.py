from akd import stages
from akd.smk import job

with job(snakemake):
    stages.shrink_model(snakemake.params.settings, snakemake.output[0])
