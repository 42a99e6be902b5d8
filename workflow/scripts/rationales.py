from akd import stages
from akd.smk import job

with job(snakemake):
    stages.rationales(snakemake.input[0], snakemake.output[0], snakemake.params.k, snakemake.params.exclude_punctuation,
                      snakemake.params.exclude_stopwords)
