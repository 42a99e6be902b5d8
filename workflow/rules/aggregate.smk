localrules:
    aggregate,
    similarity_table,
    accuracy_vs_data,
    training_curves,


rule aggregate:
    """Accuracy table (dataset x variant, mean ± std over seeds) and the bar chart."""
    input:
        predictions=paths(aggregate_runs(), "predictions"),
        metrics=paths(aggregate_runs(), "metrics"),
        teacher_metrics=paths(teacher_metrics(), "metrics"),
    output:
        csv=f"{RESULTS}/tables/accuracy.csv",
        md=f"{RESULTS}/tables/accuracy.md",
        html=report(f"{RESULTS}/tables/accuracy.html", caption="../report/accuracy.rst", category="Results"),
        plot=report(f"{RESULTS}/plots/accuracy.png", caption="../report/accuracy_plot.rst", category="Results"),
        k_plot=report(f"{RESULTS}/plots/accuracy_vs_k.png", caption="../report/accuracy_vs_k.rst", category="Results"),
        vs_standard_csv=f"{RESULTS}/tables/accuracy_vs_standard.csv",
        vs_standard_md=f"{RESULTS}/tables/accuracy_vs_standard.md",
        vs_standard_html=report(f"{RESULTS}/tables/accuracy_vs_standard.html", caption="../report/accuracy_vs_standard.rst",
                                category="Results"),
    params:
        runs=keys(aggregate_runs(), "dataset", "variant", "seed", "task"),
        teacher=keys(teacher_metrics(), "dataset"),
        references=as_params(dict(config.get("references", {}))),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/aggregate.log",
    script:
        "../scripts/aggregate.py"


rule similarity_table:
    """Teacher-student similarity per dataset and variant: agreement of their test answers and the
    overlap of their top-k words (mean and std over seeds)."""
    input:
        predictions=paths(aggregate_runs(), "predictions"),
        similarity=paths(aggregate_runs(), "similarity"),
        teacher_predictions=paths(teacher_metrics(), "predictions"),
    output:
        csv=f"{RESULTS}/tables/similarity.csv",
        html=report(f"{RESULTS}/tables/similarity.html", caption="../report/similarity.rst", category="Analyses"),
    params:
        runs=keys(aggregate_runs(), "dataset", "variant", "seed", "task"),
        teacher=keys(teacher_metrics(), "dataset"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/similarity_table.log",
    script:
        "../scripts/similarity_table.py"


rule accuracy_vs_data:
    """Accuracy against the share of the training data (student.train_fractions)."""
    input:
        f"{RESULTS}/tables/accuracy.csv",
    output:
        report(f"{RESULTS}/plots/accuracy_vs_data.png", caption="../report/accuracy_vs_data.rst", category="Results"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/accuracy_vs_data.log",
    script:
        "../scripts/accuracy_vs_data.py"


rule training_curves:
    """Validation accuracy and label loss against step, per variant (each student's train_log.parquet)."""
    input:
        models=lambda w: [f"{run_dir(r)}/model" for r in runs() if r["dataset"] == w.dataset],
    output:
        report(f"{RESULTS}/plots/training_curves/{{dataset}}.png", caption="../report/training_curves.rst",
               category="Training", subcategory="{dataset}"),
    params:
        runs=lambda w: keys([r for r in runs() if r["dataset"] == w.dataset], "variant", "seed"),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/training_curves/{{dataset}}.log",
    script:
        "../scripts/training_curves.py"
