from akd import stages
from akd.smk import job, with_paths

with job(snakemake):
    p, i, out = snakemake.params, snakemake.input, snakemake.output
    runs = with_paths(p.runs, predictions=i.predictions, metrics=i.similarity)
    teacher = with_paths(p.teacher, predictions=i.teacher_predictions)
    stages.similarity_table(runs, teacher, out.csv, out.html)
