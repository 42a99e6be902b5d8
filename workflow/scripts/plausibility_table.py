from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    i, out = snakemake.input, snakemake.output
    items = with_paths(snakemake.params.analyses, top=i.top, random=i.random, human=i.human,
                       attributions=i.attributions)
    p = snakemake.params
    stages.plausibility_table(items, out.csv, out.md, out.html, p.seed, p.exclude_punctuation, p.exclude_stopwords)
