localrules:
    aggregate,


rule aggregate:
    """Accuracy table (dataset x variant, mean ± std over seeds) and the bar chart."""
    input:
        predictions=[r["predictions"] for r in aggregate_runs()],
        metrics=[r["metrics"] for r in aggregate_runs()],
        teacher=[t["metrics"] for t in teacher_metrics()],
        teacher_predictions=[t["predictions"] for t in teacher_metrics()],
    output:
        csv=f"{RESULTS}/tables/accuracy.csv",
        md=f"{RESULTS}/tables/accuracy.md",
        html=report(f"{RESULTS}/tables/accuracy.html", caption="../report/accuracy.rst", category="Results"),
        plot=report(f"{RESULTS}/plots/accuracy.png", caption="../report/accuracy_plot.rst", category="Results"),
        k_plot=report(f"{RESULTS}/plots/accuracy_vs_k.png", caption="../report/accuracy_vs_k.rst", category="Results"),
        similarity=f"{RESULTS}/tables/similarity.csv",
        similarity_html=report(f"{RESULTS}/tables/similarity.html", caption="../report/similarity.rst", category="Analyses"),
    params:
        runs=aggregate_runs(),
        teacher=teacher_metrics(),
        references=as_params(dict(config.get("references", {}))),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{RESULTS}/logs/aggregate.log",
    script:
        "../scripts/aggregate.py"
