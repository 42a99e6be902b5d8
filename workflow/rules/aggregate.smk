localrules:
    aggregate,
    accuracy_vs_data,


rule aggregate:
    """Accuracy table (dataset x variant, mean ± std over seeds) and the bar chart."""
    input:
        predictions=paths(aggregate_runs(), "predictions"),
        metrics=paths(aggregate_runs(), "metrics"),
        teacher_metrics=paths(teacher_metrics(), "metrics"),
        teacher_predictions=paths(teacher_metrics(), "predictions"),
    output:
        csv=f"{RESULTS}/tables/accuracy.csv",
        md=f"{RESULTS}/tables/accuracy.md",
        html=report(f"{RESULTS}/tables/accuracy.html", caption="../report/accuracy.rst", category="Results"),
        plot=report(f"{RESULTS}/plots/accuracy.png", caption="../report/accuracy_plot.rst", category="Results"),
        k_plot=report(f"{RESULTS}/plots/accuracy_vs_k.png", caption="../report/accuracy_vs_k.rst", category="Results"),
        similarity=f"{RESULTS}/tables/similarity.csv",
        similarity_html=report(f"{RESULTS}/tables/similarity.html", caption="../report/similarity.rst", category="Analyses"),
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
