from akd import stages
from akd.smk import job, settings

with job(snakemake):
    i, p = snakemake.input, snakemake.params
    by_method = dict(zip(p.sources[:-1], i.attributions))  # the analysed methods, in order
    stages.faithfulness(p.model, i.predictions, {s: by_method[m] for s, m in zip(p.sources, p.words)},
                        dict(zip(p.sources, [*i.top, i.random])), p.k, snakemake.output[0], settings(snakemake))
