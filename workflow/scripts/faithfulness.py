from akd import stages
from akd.smk import job, settings

with job(snakemake):
    i = snakemake.input
    stages.faithfulness(snakemake.params.model, i.predictions, i.attributions,
                        {snakemake.wildcards.method: i.top, "random": i.random}, snakemake.params.k,
                        snakemake.output[0], settings(snakemake))
