import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))

from akd import io
from akd.prepare import check_k_of_config, input_stats
from akd.smk import job

with job(snakemake):
    stats = input_stats(snakemake.input.train)
    # k comes from the config, not params: a new k must not rerun this job (or the teacher after it)
    check_k_of_config(snakemake.wildcards.dataset, stats, snakemake.config["rationales"])
    io.write_json(stats, snakemake.output[0])
