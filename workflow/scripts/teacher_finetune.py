from akd import stages
from akd.smk import job, outside_params, settings, with_save_every

with job(snakemake):
    model = snakemake.input.model[0] if snakemake.input.model else snakemake.params.settings["model"]
    save_every = outside_params(snakemake, "teacher", "finetune", "save_every")
    stages.finetune_teacher(model, snakemake.input.train, snakemake.input.valid, snakemake.output[0],
                            with_save_every(settings(snakemake), save_every))
