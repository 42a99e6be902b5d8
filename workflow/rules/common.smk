# Helpers: config slices for params, model paths, target lists. No rules here.

import json
from pathlib import Path

import akd.config
import akd.prepare
import akd.variants
import akd.words
from akd.specs import is_tiny
from akd.prepare import source_files

akd.config.check(config)

R = config.get("results", "results")
DATASETS = sorted(config["datasets"])  # sorted: params built from these lists do not depend on key order
SPLITS = ["train", "valid", "test"]
TEACHER = config["teacher"]["model"]
# a config without `student` runs the teacher's stages only (`snakemake teacher`)
HAS_STUDENT = "student" in config
STUDENT = config["student"]["model"] if HAS_STUDENT else None
METHODS = list(config["attribution"]["methods"])
KS = sorted(int(k) for k in config["rationales"]["k"])
CONTROLS = akd.variants.CONTROLS  # rationale files made from one method's scores
# the attribution whose words (random) and ranking (masked) the controls use
CONTROL_METHOD = config["rationales"].get("control_method", METHODS[0])
SEEDS = sorted(int(s) for s in config["student"]["seeds"]) if HAS_STUDENT else []
# the splits the teacher answers and is attributed on (train: rationales; test: the analyses)
TEACHER_SPLITS = ["train", "test"]
DEVICE = config.get("device", "auto")
# threads, gpu, mem_mb and runtime of the model jobs, by the model they run (teacher | student)
MODEL_JOBS = akd.config.job_resources(config)
# which words may become rationale words (params of every rule that picks top-k words)
RATIONALE_FLAGS = akd.config.canonical(akd.config.rationale_flags(config))


wildcard_constraints:
    dataset="|".join(DATASETS),
    split="train|valid|test",
    seed=r"\d+",
    k=r"\d+",
    method="|".join(METHODS),
    variant=akd.variants.wildcard(METHODS),
    control="|".join(CONTROLS),
    alias=r"[^/]+",
    shard=r"\d+",
    n=r"\d+",


def n_shards(dataset, split):
    return akd.config.n_shards(config, dataset, split)


def shard_files(pattern, wildcards):
    """The shard files of one split, from a pattern with {shard} and {n} placeholders; for a
    split of one shard, a name no rule makes (so the one-job rule writes the split instead)."""
    n = n_shards(wildcards.dataset, wildcards.split)
    if n == 1:
        return [f"{R}/{wildcards.dataset}/UNSHARDED"]
    return [pattern.format(shard=i, n=n, **wildcards) for i in range(n)]


def plain(value):
    """Every params value goes through this: dict keys sorted (params compare by repr)."""
    return akd.config.canonical(value)


def threads_of(role):
    """Threads of a model job (teacher | student)."""
    return MODEL_JOBS[role]["threads"]


def resources_of(role):
    """gpu, mem_mb and runtime of a model job (teacher | student): `resources: **resources_of(...)`."""
    return {k: v for k, v in MODEL_JOBS[role].items() if k != "threads"}


def without_runtime(train):
    """A training slice without `save_every`, which changes how often state is saved, not results
    (the scripts read it from the config), so that changing it reruns nothing."""
    return {k: v for k, v in train.items() if k != "save_every"}


def dataset_settings(dataset):
    return plain(akd.config.dataset_settings(config, dataset))


def checked_inputs(wildcards):
    """The input statistics of a dataset, an input of every teacher job. `rationales.k` is checked
    against them here when they exist (an error stops the run before any job), else by the
    input_stats job itself, which runs before any teacher job."""
    stats = f"{R}/{wildcards.dataset}/data/stats.json"
    if Path(stats).exists():
        akd.words.check_k_of_config(wildcards.dataset, json.loads(Path(stats).read_text()), config["rationales"])
    return stats


def prepare_inputs(wildcards):
    return source_files(dataset_settings(wildcards.dataset))


def model_spec(alias):
    """A model's folder or hub name (`package:` entries resolve to the package's folder)."""
    return akd.config.model_spec(config, alias)


def model_dir(dataset, alias):
    """Where a model's weights come from: a built tiny folder, else the spec (folder or hub name)."""
    spec = model_spec(alias)
    return f"{R}/{dataset}/models/{alias}" if is_tiny(spec) else spec


def model_input(dataset, alias):
    """Rule input for a model: the tiny folder when it is built here, else nothing."""
    return [model_dir(dataset, alias)] if is_tiny(model_spec(alias)) else []


def teacher_dir(dataset):
    if config["teacher"].get("finetune"):
        return f"{R}/{dataset}/teacher/{TEACHER}/model"
    return model_dir(dataset, TEACHER)


def teacher_input(wildcards):
    if config["teacher"].get("finetune"):
        return [teacher_dir(wildcards.dataset)]
    return model_input(wildcards.dataset, TEACHER)


def teacher_settings(dataset, extra=None):
    """How the teacher answers on one dataset: `teacher`, updated by `datasets.<name>.teacher`."""
    t = akd.config.teacher_config(config, dataset)
    m = config["models"][TEACHER]
    s = {
        "model": model_spec(TEACHER),
        "gguf_file": m.get("gguf_file"),
        "trust_remote_code": bool(m.get("trust_remote_code", False)),
        "template": t.get("template", "prompt"),
        "format": t.get("format", "choices"),
        "answer": t.get("answer"),
        "choice_answer": t.get("choice_answer", "text"),
        "normalise": t.get("normalise", "sum"),
        "chat": t.get("chat", "auto"),
        "shots": int(t.get("shots", 0)),
        "shot_seed": int(t.get("shot_seed", 0)),
        "batch_size": int(t.get("batch_size", 32)),
        "max_new_tokens": int(t.get("max_new_tokens", 64)),
        "max_input_tokens": int(t.get("max_input_tokens", 1024)),
        "device": DEVICE,
    }
    # only what changes this dataset's answers: a math teacher generates (no format, choices or
    # ranking); a ranked one generates nothing; without shots the shot seed draws nothing
    task = config["datasets"][dataset]["task"]
    mode = s["answer"] or ("generate" if task == "math" else "rank")
    unused = {"math": {"format", "choice_answer"}, "nli": {"choice_answer"}, "mc": set()}[task]
    unused |= {"normalise"} if mode == "generate" else {"max_new_tokens"}
    unused |= {"shot_seed"} if not s["shots"] else set()
    s = {k: v for k, v in s.items() if k not in unused}
    return plain({**s, **(extra or {})})


def shots_input(wildcards):
    """The training split, when demonstrations are drawn from it."""
    shots = int(akd.config.teacher_config(config, wildcards.dataset).get("shots", 0))
    return [f"{R}/{wildcards.dataset}/data/train.parquet"] if shots else []


def check_settings(dataset):
    """The teacher check's slice: the unparsed limit and whether this dataset accepts a weak teacher."""
    accept = config["teacher"].get("accept_weak", False)
    accept = dataset in accept if isinstance(accept, list) else bool(accept)
    return plain({"max_unparsed": float(config["teacher"].get("max_unparsed", 0.25)), "accept": accept})


def finetune_settings(dataset):
    """What teacher fine-tuning uses: the model, its prompts and the training slice (not generation)."""
    s = teacher_settings(dataset, {"train": without_runtime(config["teacher"]["finetune"] or {})})
    keep = ("model", "gguf_file", "trust_remote_code", "template", "format", "choice_answer", "chat", "shots",
            "shot_seed", "device", "train")
    return plain({k: s[k] for k in keep if k in s})


def attribution_settings(dataset, method):
    """The attribution slice one method uses (so a change to another method's setting reruns nothing here)."""
    a = config["attribution"]
    s = {
        "method": method,
        "aggregate": a.get("aggregate", "sum"),
        "target": a.get("target", "prediction"),
        "batch_size": int(a.get("batch_size", 16)),
        "max_input_tokens": int(a.get("max_input_tokens", 1024)),
    }
    if method == "saliency":
        s["reduce"] = a.get("reduce", "l2")
    if method == "integrated_gradients":
        s["n_steps"] = int(a.get("n_steps", 32))
    # the teacher's model, not how it answers: prompts and answers reach attribution through the
    # predictions file (so a new prompt setting reruns attribution through that file, once)
    t = teacher_settings(dataset)
    return plain({**{k: t[k] for k in ("model", "gguf_file", "trust_remote_code", "device")}, **s})


def has_llm(dataset):
    return akd.config.has_llm_rationales(config["datasets"][dataset])


def variants(dataset):
    """The student runs of a dataset: `student.variants` expanded over methods and k (akd.variants)."""
    if not HAS_STUDENT:
        return []
    return akd.variants.run_names(config["student"]["variants"], METHODS, KS, has_llm(dataset))


def rationale_input(wildcards):
    """The rationale file a run trains on (none for the kinds without one, or with the data's own)."""
    run = akd.variants.parse(wildcards.variant, METHODS)
    if run.kind.rationale not in ("attribution", "control"):
        return []
    return [f"{R}/{wildcards.dataset}/rationales/{TEACHER}/{run.source}/k{run.k}/train.parquet"]


def student_settings(wildcards):
    s = config["student"]
    return plain(
        {
            "model": model_spec(STUDENT),
            "seed": int(wildcards.seed),
            "train": without_runtime(s["train"]),
            "device": DEVICE,
        }
    )


def runs():
    return [
        dict(dataset=d, variant=v, seed=s)
        for d in DATASETS
        for v in variants(d)
        for s in SEEDS
    ]


def run_dir(r):
    return f"{R}/{r['dataset']}/students/{STUDENT}/{r['variant']}/seed{r['seed']}"


def aggregate_runs():
    return [
        dict(r, predictions=f"{run_dir(r)}/test_predictions.parquet", metrics=f"{run_dir(r)}/metrics.json")
        for r in runs()
    ]


def similarity_settings():
    """Teacher-student top-k overlap: the controls' attribution method at a fixed k (not max(k), so
    that adding a k does not rerun every evaluation)."""
    a = config["attribution"]
    s = {
        "method": CONTROL_METHOD,
        "k": int(config["student"].get("eval", {}).get("similarity_k", 5)),
        "n": int(config["student"].get("eval", {}).get("similarity_examples", 200)),
        "aggregate": a.get("aggregate", "sum"),
        "batch_size": int(a.get("batch_size", 16)),
    }
    s.update(RATIONALE_FLAGS)
    if CONTROL_METHOD == "saliency":
        s["reduce"] = a.get("reduce", "l2")
    if CONTROL_METHOD == "integrated_gradients":
        s["n_steps"] = int(a.get("n_steps", 32))
    return plain(s)


def teacher_metrics():
    return [
        dict(
            dataset=d,
            metrics=f"{R}/{d}/teacher/{TEACHER}/predictions/test.json",
            predictions=f"{R}/{d}/teacher/{TEACHER}/predictions/test.parquet",
        )
        for d in DATASETS
    ]


def overlap_items():
    return [
        dict(
            dataset=d,
            method=m,
            attributions=f"{R}/{d}/teacher/{TEACHER}/attributions/{m}/train.parquet",
            examples=f"{R}/{d}/data/train.parquet",
        )
        for d in DATASETS
        for m in METHODS
    ]


def teacher_table_items():
    return [
        dict(dataset=d, split=s, metrics=f"{R}/{d}/teacher/{TEACHER}/predictions/{s}.json")
        for d in DATASETS
        for s in TEACHER_SPLITS
    ]


def teacher_targets():
    """What `snakemake teacher` makes: the teacher's answers on train and test, their checks, the
    training split's attributions (what rationales are made of) and the tables. (The test split's
    attributions are made when students are evaluated against them.)"""
    html = [f"{R}/{d}/teacher/{TEACHER}/attributions/{m}/train.html" for d in DATASETS for m in METHODS]
    attributions = [f"{R}/{d}/teacher/{TEACHER}/attributions/{m}/train.parquet" for d in DATASETS for m in METHODS]
    return [
        f"{R}/tables/teacher.csv",
        f"{R}/tables/teacher.md",
        f"{R}/tables/answer_overlap.csv",
        *html,
        *attributions,
    ]


def all_targets():
    if not HAS_STUDENT:
        return teacher_targets()
    return [
        f"{R}/tables/accuracy.csv",
        f"{R}/tables/accuracy.md",
        f"{R}/plots/accuracy.png",
        f"{R}/plots/accuracy_vs_k.png",
        *teacher_targets(),
    ]
