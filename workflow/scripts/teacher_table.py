import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    stages.teacher_table(snakemake.params.tables, snakemake.output.csv, snakemake.output.md)
