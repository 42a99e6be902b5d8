from akd import stages
from akd.smk import job

with job(snakemake):
    stages.accuracy_vs_data(snakemake.input[0], snakemake.output[0])
