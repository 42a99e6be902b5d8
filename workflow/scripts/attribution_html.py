import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    w = snakemake.wildcards
    stages.attribution_html(snakemake.input.examples, snakemake.input.attributions, snakemake.output[0],
                            snakemake.params.k, f"{w.dataset}: {w.method} attributions ({w.split})")
