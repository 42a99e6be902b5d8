localrules:
    rationales,


rule rationales:
    """Top-k words of each example, in input order."""
    input:
        f"{R}/{{dataset}}/teacher/{TEACHER}/attributions/{{method}}/{{split}}.parquet",
    output:
        f"{R}/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.parquet",
    params:
        k=lambda w: int(w.k),
        exclude_punctuation=bool(config["rationales"].get("exclude_punctuation", True)),
    conda:
        "../../envs/akd.yaml"
    log:
        f"{R}/logs/{{dataset}}/rationales/{TEACHER}/{{method}}/k{{k}}/{{split}}.log",
    script:
        "../scripts/rationales.py"
