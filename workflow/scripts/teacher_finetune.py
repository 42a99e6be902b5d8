import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job, settings, with_save_every

with job(snakemake):
    model = snakemake.input.model[0] if snakemake.input.model else snakemake.params.settings["model"]
    finetune_settings = with_save_every(settings(snakemake), snakemake.config["teacher"]["finetune"])
    stages.finetune_teacher(model, snakemake.input.train, snakemake.input.valid, snakemake.output[0], finetune_settings)
