from akd import stages
from akd.smk import job

with job(snakemake):
    check = snakemake.params.check
    stages.teacher_check(snakemake.wildcards.dataset, dict(snakemake.input.items()), snakemake.output[0],
                         check["max_unparsed"], check["accept"])
