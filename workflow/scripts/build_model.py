from akd import stages
from akd.smk import job

with job(snakemake):
    stages.build_model(snakemake.params.spec, snakemake.input.train, snakemake.output[0])
