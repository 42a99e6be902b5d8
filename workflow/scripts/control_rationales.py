import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    p = snakemake.params
    stages.control_rationales(snakemake.input.attributions, snakemake.input.examples, snakemake.output[0],
                              snakemake.wildcards.control, p.k, p.seed, p.exclude_punctuation, p.exclude_stopwords)
