localrules:
    prepare,
    build_model,
    input_stats,


rule prepare:
    """A dataset source -> one example table per split."""
    input:
        prepare_inputs,
    output:
        train=f"{RESULTS}/{{dataset}}/data/train.parquet",
        valid=f"{RESULTS}/{{dataset}}/data/valid.parquet",
        test=f"{RESULTS}/{{dataset}}/data/test.parquet",
    params:
        dataset=lambda w: dataset_settings(w.dataset),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/prepare.log",
    script:
        "../scripts/prepare.py"


rule build_model:
    """A tiny: preset -> tokenizer trained on the dataset's training text + random small T5."""
    input:
        train=f"{RESULTS}/{{dataset}}/data/train.parquet",
    output:
        directory(f"{RESULTS}/{{dataset}}/models/{{alias}}"),
    params:
        spec=lambda w: model_spec(w.alias),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/models/{{alias}}.log",
    script:
        "../scripts/build_model.py"


rule shrink_model:
    """A `shrink:` model: a copy of a pretrained model that keeps some of its layers (its tokenizer
    beside it), built once for all datasets."""
    output:
        directory(f"{RESULTS}/models/{{alias}}"),
    params:
        settings=lambda w: shrink_settings(w.alias),
    threads: 1
    resources:
        mem_mb=MODEL_JOBS["teacher"]["mem_mb"],
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/models/{{alias}}.log",
    script:
        "../scripts/shrink_model.py"


rule input_stats:
    """Word counts of the training inputs, and `rationales.k` checked against them before any
    teacher job (the counts depend on the data only: a new k reruns nothing here)."""
    input:
        train=f"{RESULTS}/{{dataset}}/data/train.parquet",
    output:
        f"{RESULTS}/{{dataset}}/data/stats.json",
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/input_stats.log",
    script:
        "../scripts/input_stats.py"
