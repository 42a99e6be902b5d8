from akd import stages
from akd.smk import job

with job(snakemake):
    p = snakemake.params
    stages.control_rationales(snakemake.input.attributions, snakemake.input.examples, snakemake.output[0],
                              snakemake.wildcards.control, p.k, p.seed, p.exclude_punctuation, p.exclude_stopwords)
