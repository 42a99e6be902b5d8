from akd import stages
from akd.smk import job

with job(snakemake):
    w = snakemake.wildcards
    stages.attribution_html(snakemake.input.examples, snakemake.input.attributions, snakemake.output[0],
                            snakemake.params.k, f"{w.dataset}: {w.method} attributions ({w.split})")
