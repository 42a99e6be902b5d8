from akd import stages
from akd.smk import job

with job(snakemake):
    w, p = snakemake.wildcards, snakemake.params
    stages.attribution_html(snakemake.input.examples, snakemake.input.attributions, snakemake.output[0], p.k,
                            f"{w.dataset}: {w.method} attributions ({w.split})",
                            exclude_punctuation=p.exclude_punctuation, exclude_stopwords=p.exclude_stopwords)
