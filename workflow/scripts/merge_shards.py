from akd import schemas, stages
from akd.smk import job

with job(snakemake):
    table = snakemake.params.table
    schema = {"predictions": schemas.PREDICTIONS, "attributions": schemas.ATTRIBUTIONS, "cot": schemas.COT,
              "logits": schemas.TEACHER_LOGITS}[table]
    stages.merge_shards(list(snakemake.input.shards), snakemake.input.examples, snakemake.output[0], schema,
                        getattr(snakemake.output, "metrics", None), getattr(snakemake.input, "predictions", None),
                        getattr(snakemake.params, "target", "prediction"))
