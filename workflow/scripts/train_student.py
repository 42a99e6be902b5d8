from akd import stages
from akd.smk import job, outside_params, settings, with_save_every

with job(snakemake):
    rationales = snakemake.input.rationales[0] if snakemake.input.rationales else None
    save_every = outside_params(snakemake, "student", "train", "save_every")
    stages.train_student(snakemake.params.model, snakemake.input.train, snakemake.input.valid, rationales,
                         snakemake.output[0], snakemake.wildcards.variant, with_save_every(settings(snakemake), save_every),
                         snakemake.input.get("teacher_labels"), snakemake.input.get("teacher_logits"))
