import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job, settings

with job(snakemake):
    stages.evaluate(snakemake.input.model, snakemake.input.examples, snakemake.output.predictions,
                    snakemake.output.metrics, settings(snakemake), snakemake.input.teacher_attributions)
