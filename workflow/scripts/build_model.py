import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    stages.build_model(snakemake.params.spec, snakemake.input.train, snakemake.output[0])
