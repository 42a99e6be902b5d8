from akd import stages
from akd.smk import job, settings

with job(snakemake):
    i = snakemake.input
    stages.similarity(i.model, i.examples, i.predictions, i.teacher_attributions, snakemake.output[0], settings(snakemake))
