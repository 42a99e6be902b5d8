# How good the rationales are: faithfulness of the top-k words to the teacher (ERASER), beside k
# random words of the same input. On when `analyses.faithfulness_examples` > 0.

localrules:
    faithfulness_table,


rule faithfulness:
    """Comprehensiveness and sufficiency of a method's top-k words and of k random words."""
    input:
        model=teacher_input,
        predictions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/predictions/train.parquet",
        attributions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/train.parquet",
        top=f"{RESULTS}/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/train.parquet",
        random=f"{RESULTS}/{{dataset}}/rationales/{TEACHER}/random/k{{k}}/train.parquet",
    output:
        f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/faithfulness/{{method}}/k{{k}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        k=lambda w: int(w.k),
        settings=lambda w: faithfulness_settings(w.dataset, w.method),
    threads: threads_of("teacher")
    resources:
        **resources_of("teacher"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/teacher/{TEACHER}/faithfulness_{{method}}_k{{k}}.log",
    script:
        "../scripts/faithfulness.py"


rule faithfulness_table:
    """Per dataset, method, k and source: mean comprehensiveness and sufficiency."""
    input:
        faithfulness=paths(faithfulness_items(), "faithfulness"),
    output:
        csv=f"{RESULTS}/tables/faithfulness.csv",
        md=f"{RESULTS}/tables/faithfulness.md",
        html=report(f"{RESULTS}/tables/faithfulness.html", caption="../report/faithfulness.rst", category="Analyses"),
    params:
        analyses=keys(faithfulness_items(), "dataset", "method", "k"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/faithfulness_table.log",
    script:
        "../scripts/faithfulness_table.py"
