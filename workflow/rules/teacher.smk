# The teacher's GPU stages. A split with `shards: n > 1` runs as n jobs (one GPU each on a
# cluster), cut along the batches a single job would run, then merged by a light local rule into
# the very table one job would write; other splits run as one job.

localrules:
    merge_predictions,
    merge_attributions,


# A split is merged from shards when it has more than one (the merge rules' inputs then exist);
# otherwise the merge rules' inputs cannot be made and the one-job rules write the file.
ruleorder: merge_predictions > teacher_predict
ruleorder: merge_attributions > attribute


rule teacher_finetune:
    """Fine-tune the teacher on labels (its own prompt template) before it teaches."""
    input:
        model=lambda w: model_input(w.dataset, TEACHER),
        train=f"{R}/{{dataset}}/data/train.parquet",
        valid=f"{R}/{{dataset}}/data/valid.parquet",
        checked=checked_inputs,
    output:
        directory(f"{R}/{{dataset}}/teacher/{TEACHER}/model"),
    params:
        settings=lambda w: finetune_settings(),
    threads: RES["teacher"]["threads"]
    resources:
        gpu=RES["teacher"]["gpu"],
        mem_mb=RES["teacher"]["mem_mb"],
        runtime=RES["teacher"]["runtime"],
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
        checked=checked_inputs,
    output:
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        metrics=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.json",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: teacher_settings(),
        shard=None,
    threads: RES["teacher"]["threads"]
    resources:
        gpu=RES["teacher"]["gpu"],
        mem_mb=RES["teacher"]["mem_mb"],
        runtime=RES["teacher"]["runtime"],
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/predict_{{split}}.log",
    script:
        "../scripts/teacher_predict.py"


rule teacher_predict_shard:
    """One shard of a sharded split's teacher answers."""
    input:
        model=teacher_input,
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
        checked=checked_inputs,
    output:
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: teacher_settings(),
        shard=lambda w: [int(w.shard), int(w.n)],
    threads: RES["teacher"]["threads"]
    resources:
        gpu=RES["teacher"]["gpu"],
        mem_mb=RES["teacher"]["mem_mb"],
        runtime=RES["teacher"]["runtime"],
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/predict_{{split}}-{{shard}}-of-{{n}}.log",
    script:
        "../scripts/teacher_predict.py"


rule merge_predictions:
    """A sharded split's answers, back in the split's order, and the teacher's accuracy on it."""
    input:
        shards=lambda w: shard_files(
            f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/shards/{{split}}-{{shard}}-of-{{n}}.parquet", w
        ),
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
    output:
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
        metrics=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.json",
    params:
        table="predictions",
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/merge_predictions_{{split}}.log",
    script:
        "../scripts/merge_shards.py"


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
        shard=None,
    threads: RES["teacher"]["threads"]
    resources:
        gpu=RES["teacher"]["gpu"],
        mem_mb=RES["teacher"]["mem_mb"],
        runtime=RES["teacher"]["runtime"],
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/attribute_{{method}}_{{split}}.log",
    script:
        "../scripts/attribute.py"


rule attribute_shard:
    """One shard of a sharded split's word scores."""
    input:
        model=teacher_input,
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
        predictions=f"{R}/{{dataset}}/teacher/{TEACHER}/predictions/{{split}}.parquet",
    output:
        f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
    params:
        model=lambda w: teacher_dir(w.dataset),
        settings=lambda w: attribution_settings(w.method),
        shard=lambda w: [int(w.shard), int(w.n)],
    threads: RES["teacher"]["threads"]
    resources:
        gpu=RES["teacher"]["gpu"],
        mem_mb=RES["teacher"]["mem_mb"],
        runtime=RES["teacher"]["runtime"],
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/attribute_{{method}}_{{split}}-{{shard}}-of-{{n}}.log",
    script:
        "../scripts/attribute.py"


rule merge_attributions:
    """A sharded split's word scores, back in the split's order."""
    input:
        shards=lambda w: shard_files(
            f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/shards/{{split}}-{{shard}}-of-{{n}}.parquet",
            w,
        ),
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
    output:
        f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    params:
        table="attributions",
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/merge_attributions_{{method}}_{{split}}.log",
    script:
        "../scripts/merge_shards.py"
