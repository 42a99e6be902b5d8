rule train_student:
    """The two-task student (predict:/explain:), or labels only for `standard`."""
    input:
        unpack(teacher_labels_input),
        unpack(teacher_logits_input),
        model=lambda w: model_input(w.dataset, STUDENT),
        train=f"{RESULTS}/{{dataset}}/data/train.parquet",
        valid=f"{RESULTS}/{{dataset}}/data/valid.parquet",
        rationales=rationale_input,
    output:
        directory(f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/model"),
    params:
        model=lambda w: model_dir(w.dataset, STUDENT),
        settings=student_settings,
    threads: threads_of("student")
    resources:
        **resources_of("student"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/train.log",
    script:
        "../scripts/train_student.py"


rule evaluate:
    """Test accuracy of the best-on-validation checkpoint; predictions saved. Reads the student and
    the test split only: a student that never sees the teacher is evaluated without waiting on it."""
    input:
        model=f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/model",
        examples=f"{RESULTS}/{{dataset}}/data/test.parquet",
    output:
        predictions=f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/test_predictions.parquet",
        metrics=f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/metrics.json",
    params:
        settings=as_params(
            {
                k: v
                for k, v in config["student"].get("eval", {}).items()
                if k not in ("similarity_examples", "similarity_k")
            }
            | answer_settings()
            | {"device": DEVICE}
        ),
    threads: threads_of("student")
    resources:
        **resources_of("student"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/evaluate.log",
    script:
        "../scripts/evaluate.py"


rule similarity:
    """Teacher-student similarity of one student: the Jaccard index of its top-k words on test
    examples and the teacher's (akd.analyses.topk_similarity), apart from `evaluate`, so that a new
    teacher reruns this, not the student's accuracy."""
    input:
        model=f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/model",
        examples=f"{RESULTS}/{{dataset}}/data/test.parquet",
        predictions=f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/test_predictions.parquet",
        teacher_attributions=f"{RESULTS}/{{dataset}}/teacher/{TEACHER}/attributions/{CONTROL_METHOD}/test.parquet",
    output:
        f"{RESULTS}/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/similarity.json",
    params:
        settings=as_params({"device": DEVICE, "similarity": similarity_settings()}),
    threads: threads_of("student")
    resources:
        **resources_of("student"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/{{dataset}}/students/{STUDENT}/{{variant}}/seed{{seed}}/similarity.log",
    script:
        "../scripts/similarity.py"
