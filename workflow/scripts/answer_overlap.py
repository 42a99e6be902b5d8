import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import stages
from akd.smk import job

with job(snakemake):
    p = snakemake.params
    stages.answer_overlap(p.analyses, p.ks, snakemake.output.csv, snakemake.output.md, p.exclude_punctuation,
                          p.exclude_stopwords, p.seed)
