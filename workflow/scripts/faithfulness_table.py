from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    out = snakemake.output
    items = with_paths(snakemake.params.analyses, faithfulness=snakemake.input.faithfulness)
    stages.faithfulness_table(items, out.csv, out.md, out.html)
