from akd import stages
from akd.smk import job

with job(snakemake):
    stages.human_rationales(snakemake.params.dataset, snakemake.output[0])
