import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job, settings

with job(snakemake):
    rationales = snakemake.input.rationales[0] if snakemake.input.rationales else None
    stages.train_student(snakemake.params.model, snakemake.input.train, snakemake.input.valid, rationales,
                         snakemake.output[0], snakemake.wildcards.variant, settings(snakemake))
