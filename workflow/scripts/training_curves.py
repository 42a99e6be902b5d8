from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    runs = with_paths(snakemake.params.runs, model=snakemake.input.models)
    stages.training_curves(runs, snakemake.wildcards.dataset, snakemake.output[0])
