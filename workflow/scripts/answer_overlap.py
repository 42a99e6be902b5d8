from akd import stages
from akd.smk import job

with job(snakemake):
    p = snakemake.params
    stages.answer_overlap(p.analyses, p.ks, snakemake.output.csv, snakemake.output.md, p.exclude_punctuation,
                          p.exclude_stopwords, p.seed)
