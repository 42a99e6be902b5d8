rule teacher_finetune:
    """Fine-tune the teacher on labels (its own prompt template) before it teaches."""
    input:
        model=lambda w: model_input(w.dataset, TEACHER),
        train=f"{R}/{{dataset}}/data/train.parquet",
        valid=f"{R}/{{dataset}}/data/valid.parquet",
    output:
        directory(f"{R}/{{dataset}}/teacher/{TEACHER}/model"),
    params:
        settings=lambda w: finetune_settings(),
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=GPU_MEM,
        runtime=GPU_MIN,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/finetune.log",
    script:
        "../scripts/teacher_finetune.py"


rule teacher_predict:
    """Batched greedy answers of the teacher; its accuracy beside them."""
    input:
        model=teacher_input,
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
    output:
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        metrics=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.json",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: teacher_settings(),
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=GPU_MEM,
        runtime=GPU_MIN,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/predict_{{split}}.log",
    script:
        "../scripts/teacher_predict.py"


rule attribute:
    """Word-level saliency of the teacher's answer over the example's own words."""
    input:
        model=teacher_input,
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
    output:
        f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: attribution_settings(w.method),
    threads: THREADS
    resources:
        gpu=1,
        mem_mb=GPU_MEM,
        runtime=GPU_MIN,
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/attribute_{{method}}_{{split}}.log",
    script:
        "../scripts/attribute.py"
