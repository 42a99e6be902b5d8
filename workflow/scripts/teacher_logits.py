from akd import stages
from akd.smk import job, settings

with job(snakemake):
    shard = snakemake.params.shard
    stages.teacher_logits(snakemake.params.model, snakemake.params.student, snakemake.input.examples,
                          snakemake.output[0], settings(snakemake), shard=tuple(shard) if shard else None)
