from akd import stages
from akd.smk import job

with job(snakemake):
    p, out = snakemake.params, snakemake.output
    stages.answer_overlap(p.analyses, p.ks, out.csv, out.md, p.exclude_punctuation, p.exclude_stopwords, p.seed,
                          html_out=out.html)
