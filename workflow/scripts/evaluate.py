from akd import stages
from akd.smk import job, settings

with job(snakemake):
    stages.evaluate(snakemake.input.model, snakemake.input.examples, snakemake.output.predictions,
                    snakemake.output.metrics, settings(snakemake))
