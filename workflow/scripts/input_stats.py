from akd import io
from akd.prepare import input_stats
from akd.smk import job, outside_params
from akd.words import check_k_of_config

with job(snakemake):
    stats = input_stats(snakemake.input.train)
    # k is checked here but used by later rules: a new k must not rerun this job (or the teacher after it)
    check_k_of_config(snakemake.wildcards.dataset, stats, outside_params(snakemake, "rationales"))
    io.write_json(stats, snakemake.output[0])
