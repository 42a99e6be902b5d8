from akd import stages
from akd.smk import job

with job(snakemake):
    out = snakemake.output
    stages.aggregate(snakemake.params.runs, snakemake.params.teacher, out.csv, out.md, out.plot, out.k_plot,
                     out.similarity, snakemake.params.references, html_out=out.html, similarity_html_out=out.similarity_html)
