from akd import stages
from akd.smk import job, settings

with job(snakemake):
    shard = snakemake.params.shard
    stages.attribute(snakemake.params.model, snakemake.input.examples, snakemake.input.predictions,
                     snakemake.output[0], settings(snakemake), shard=tuple(shard) if shard else None)
