from akd import stages
from akd.smk import job, settings

with job(snakemake):
    shard = snakemake.params.shard
    stages.teacher_predict(snakemake.params.model, snakemake.input.examples, snakemake.output.predictions,
                           None if shard else snakemake.output.metrics, settings(snakemake),
                           shard=tuple(shard) if shard else None,
                           train_examples=snakemake.input.train[0] if snakemake.input.train else None)
