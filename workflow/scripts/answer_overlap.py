from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    p, out = snakemake.params, snakemake.output
    items = with_paths(p.analyses, attributions=snakemake.input.attributions, examples=snakemake.input.examples)
    stages.answer_overlap(items, p.ks, out.csv, out.md, p.exclude_punctuation, p.exclude_stopwords, p.seed,
                          html_out=out.html)
