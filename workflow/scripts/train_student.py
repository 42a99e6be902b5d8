import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job, settings, with_save_every

with job(snakemake):
    rationales = snakemake.input.rationales[0] if snakemake.input.rationales else None
    train_settings = with_save_every(settings(snakemake), snakemake.config["student"]["train"])
    stages.train_student(snakemake.params.model, snakemake.input.train, snakemake.input.valid, rationales,
                         snakemake.output[0], snakemake.wildcards.variant, train_settings)
