from akd import stages
from akd.smk import job, settings

with job(snakemake):
    shard = snakemake.params.shard
    stages.teacher_cot(snakemake.params.model, snakemake.input.examples, snakemake.output.cot,
                       None if shard else snakemake.output.metrics, settings(snakemake),
                       shard=tuple(shard) if shard else None)
