from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    p, i, out = snakemake.params, snakemake.input, snakemake.output
    runs = with_paths(p.runs, predictions=i.predictions, metrics=i.metrics)
    teacher = with_paths(p.teacher, metrics=i.teacher_metrics)
    stages.aggregate(runs, teacher, out.csv, out.md, out.plot, out.k_plot, p.references, html_out=out.html,
                     significance_out=(out.vs_standard_csv, out.vs_standard_md, out.vs_standard_html))
