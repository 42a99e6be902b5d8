localrules:
    rationales,
    attribution_html,


rule rationales:
    """Top-k words of each example, in input order."""
    input:
        f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    output:
        f"{R}/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.parquet",
    params:
        k=lambda w: int(w.k),
        exclude_punctuation=bool(config["rationales"].get("exclude_punctuation", True)),
        exclude_stopwords=bool(config["rationales"].get("exclude_stopwords", False)),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.log",
    script:
        "../scripts/rationales.py"


rule attribution_html:
    """A sample of examples with words shaded by score and the top-k marked, for the report."""
    input:
        examples=f"{R}/{{dataset}}/data/{{split}}.parquet",
        attributions=f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    output:
        report(
            f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.html",
            caption="../report/attributions.rst",
            category="Attributions",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "method": "{method}", "split": "{split}"},
        ),
    params:
        k=max(KS),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/teacher/{TEACHER}/attribution_html_{{method}}_{{split}}.log",
    script:
        "../scripts/attribution_html.py"
