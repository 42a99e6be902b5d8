# Helpers: config slices for params, model paths, target lists. No rules here.

import functools
import json
from pathlib import Path

import akd.config
import akd.prepare
import akd.variants
import akd.words
from akd.specs import is_tiny
from akd.prepare import source_files

akd.smk.config_checked(akd.config.check, config)
akd.smk.notify(akd.config.notices(config))

RESULTS = config.get("results", "results")
DATASETS = sorted(config["datasets"])  # sorted: params built from these lists do not depend on key order
SPLITS = ["train", "valid", "test"]
TEACHER = config["teacher"]["model"]
#: the teacher's chain (its model jobs, its check, the rationales) goes before students when both are
#: ready: it is the critical path (snakemake does not raise a job's priority for what waits on it),
#: and a two-thread job that waits for a free pair of cores leaves one idle
TEACHER_PRIORITY = 10
# a config without `student` runs the teacher's stages only (`snakemake teacher`)
HAS_STUDENT = "student" in config
STUDENT = config["student"]["model"] if HAS_STUDENT else None
METHODS = list(config["attribution"]["methods"])
#: methods for the analyses only, attributed on the first `analyses.faithfulness_examples` training examples the teacher answered
COMPARE_METHODS = list((config.get("analyses") or {}).get("compare_methods") or [])
ANALYSED_METHODS = METHODS + COMPARE_METHODS  # every method attributed: the analyses run over these
KS = sorted(int(k) for k in config["rationales"]["k"])
CONTROLS = akd.variants.CONTROLS  # rationale files made from one method's scores
# the attribution whose words (random) and ranking (masked) the controls use
CONTROL_METHOD = config["rationales"].get("control_method", METHODS[0])
# the seed of random words (the controls' and the references' of the analyses)
CONTROL_SEED = int(config["rationales"].get("control_seed", 0))
SEEDS = sorted(int(s) for s in config["student"]["seeds"]) if HAS_STUDENT else []
# the splits the teacher answers and is attributed on (train: rationales; test: the analyses)
TEACHER_SPLITS = ["train", "test"]
DEVICE = config.get("device", "auto")
# threads, gpu, mem_mb and runtime of the model jobs, by the model they run (teacher | student)
MODEL_JOBS = akd.config.job_resources(config)
# which words may become rationale words (params of every rule that picks top-k words)
RATIONALE_FLAGS = akd.config.canonical(akd.words.rationale_flags(config["rationales"]))


wildcard_constraints:
    dataset="|".join(DATASETS),
    split="train|valid|test",
    seed=r"\d+",
    k=r"\d+",
    method="|".join(ANALYSED_METHODS),
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
        return [f"{RESULTS}/{wildcards.dataset}/UNSHARDED"]
    return [pattern.format(shard=i, n=n, **wildcards) for i in range(n)]


def as_params(value):
    """Every params value goes through this: plain types, dict keys sorted (params compare by repr)."""
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
    return as_params(akd.config.dataset_settings(config, dataset))


def checked_inputs(wildcards):
    """The input statistics of a dataset, an input of every teacher job. `rationales.k` is checked
    against them here when they exist (an error stops the run before any job), else by the
    input_stats job itself, which runs before any teacher job."""
    stats = f"{RESULTS}/{wildcards.dataset}/data/stats.json"
    if Path(stats).exists():
        stats_of_data = json.loads(Path(stats).read_text())
        akd.smk.config_checked(akd.words.check_k_of_config, wildcards.dataset, stats_of_data, config["rationales"])
    return stats


def prepare_inputs(wildcards):
    return source_files(dataset_settings(wildcards.dataset))


def model_spec(alias):
    """A model's folder or hub name (`package:` entries resolve to the package's folder)."""
    return akd.config.model_spec(config, alias)


def is_shrunk(alias):
    return bool(config["models"][alias].get("shrink"))


def model_dir(dataset, alias):
    """Where a model's weights come from: a built tiny folder (per dataset: its tokenizer is trained
    on the data), a shrunk copy of another model (one for all datasets), else the spec."""
    if is_shrunk(alias):
        return f"{RESULTS}/models/{alias}"
    spec = model_spec(alias)
    return f"{RESULTS}/{dataset}/models/{alias}" if is_tiny(spec) else spec


def model_input(dataset, alias):
    """Rule input for a model: the folder when the workflow builds it, else nothing."""
    return [model_dir(dataset, alias)] if is_shrunk(alias) or is_tiny(model_spec(alias)) else []


def shrink_settings(alias):
    """What a shrunk model is built from: the source model (as a teacher job loads it) and the layers."""
    entry = config["models"][alias]["shrink"]
    source = config["models"][entry["from"]]
    return as_params({
        "model": model_spec(entry["from"]),
        "gguf_file": source.get("gguf_file"),
        "trust_remote_code": bool(source.get("trust_remote_code", False)),
        "shrink": {k: v for k, v in entry.items() if k != "from"},
    })


def teacher_dir(dataset):
    if config["teacher"].get("finetune"):
        return f"{RESULTS}/{dataset}/teacher/{TEACHER}/model"
    return model_dir(dataset, TEACHER)


def teacher_input(wildcards):
    if config["teacher"].get("finetune"):
        return [teacher_dir(wildcards.dataset)]
    return model_input(wildcards.dataset, TEACHER)


def teacher_settings(dataset, extra=None):
    """How the teacher answers on one dataset: `teacher`, updated by `datasets.<name>.teacher`."""
    teacher = akd.config.teacher_config(config, dataset)
    model = config["models"][TEACHER]
    settings = {
        "model": model_spec(TEACHER),
        "gguf_file": akd.config.teacher_gguf_file(config),
        "trust_remote_code": bool(model.get("trust_remote_code", False)),
        "template": teacher.get("template", "prompt"),
        "format": teacher.get("format", "choices"),
        "answer": teacher.get("answer"),
        "choice_answer": teacher.get("choice_answer", "text"),
        "normalise": teacher.get("normalise", "sum"),
        "chat": teacher.get("chat", "auto"),
        "shots": int(teacher.get("shots", 0)),
        "shot_seed": int(teacher.get("shot_seed", 0)),
        "batch_size": int(teacher.get("batch_size", 32)),
        "max_new_tokens": int(teacher.get("max_new_tokens", 64)),
        "max_input_tokens": int(teacher.get("max_input_tokens", 1024)),
        "device": DEVICE,
    }
    # only what changes this dataset's answers: a math teacher generates (no format, choices or
    # ranking); a ranked one generates nothing; without shots the shot seed draws nothing
    task = config["datasets"][dataset]["task"]
    mode = settings["answer"] or ("generate" if task == "math" else "rank")
    unused = {"math": {"format", "choice_answer"}, "nli": {"choice_answer"}, "mc": set()}[task]
    unused |= {"normalise"} if mode == "generate" else {"max_new_tokens"}
    unused |= {"shot_seed"} if not settings["shots"] else set()
    settings = {k: v for k, v in settings.items() if k not in unused}
    return as_params({**settings, **(extra or {})})


def shots_input(wildcards):
    """The training split, when demonstrations are drawn from it."""
    shots = int(akd.config.teacher_config(config, wildcards.dataset).get("shots", 0))
    return [f"{RESULTS}/{wildcards.dataset}/data/train.parquet"] if shots else []


def check_settings(dataset):
    """The teacher check's slice: the unparsed limit and whether this dataset accepts a weak teacher."""
    accept = config["teacher"].get("accept_weak", False)
    accept = dataset in accept if isinstance(accept, list) else bool(accept)
    return as_params({"max_unparsed": float(config["teacher"].get("max_unparsed", 0.25)), "accept": accept})


def finetune_settings(dataset):
    """What teacher fine-tuning uses: the model, its prompts and the training slice (not generation)."""
    settings = teacher_settings(dataset, {"train": without_runtime(config["teacher"]["finetune"] or {})})
    settings["gguf_file"] = akd.config.teacher_gguf_file(config, finetuning=True)
    keep = ("model", "gguf_file", "trust_remote_code", "template", "format", "choice_answer", "chat", "shots",
            "shot_seed", "device", "max_input_tokens", "train")
    return as_params({k: settings[k] for k in keep if k in settings})


def method_settings(method):
    """An attribution method and the settings of `attribution` it uses (only its own, so that a
    change to another method's setting reruns nothing of it)."""
    attribution = config["attribution"]
    settings = {
        "method": method,
        "aggregate": attribution.get("aggregate", "sum"),
        "batch_size": int(attribution.get("batch_size", 16)),
    }
    if method == "saliency":
        settings["reduce"] = attribution.get("reduce", "l2")
    if method == "integrated_gradients":
        settings["n_steps"] = int(attribution.get("n_steps", 32))
    for key in ("precision", "score"):  # only when set: results of configs without them keep their params
        if key in attribution:
            settings[key] = attribution[key]
    return settings


def attribution_settings(dataset, method):
    """The attribution slice one method uses (so a change to another method's setting reruns nothing here)."""
    attribution = config["attribution"]
    settings = {
        **method_settings(method),
        "target": attribution.get("target", "prediction"),
    }
    if method in COMPARE_METHODS:  # the analyses' examples only: the first ones, in the split's order
        settings["examples"] = FAITHFULNESS_N
    # the teacher's model, not how it answers: prompts and answers reach attribution through the
    # predictions file (so a new prompt setting reruns attribution through that file, once)
    # the prompt is cut where the teacher's answer cut it (one limit for all that reads it)
    teacher = teacher_settings(dataset)
    model = {k: teacher[k] for k in ("model", "gguf_file", "trust_remote_code", "device", "max_input_tokens")}
    return as_params({**model, **settings})


def attribution_shards(pattern, wildcards):
    """Shard files of a method's attributions: a compare method's few examples are one job."""
    if wildcards.method in COMPARE_METHODS:
        return [f"{RESULTS}/{wildcards.dataset}/UNSHARDED"]
    return shard_files(pattern, wildcards)


@functools.cache  # a file dataset's answer may read its whole training file
def has_llm(dataset):
    """Whether the dataset trains `llm` (asked only when it is a variant)."""
    return "llm" in config["student"]["variants"] and akd.config.has_llm_rationales(config["datasets"][dataset])


def variants(dataset):
    """The student runs of a dataset: `student.variants` expanded over methods and k (akd.variants)."""
    if not HAS_STUDENT:
        return []
    names = akd.variants.run_names(config["student"]["variants"], METHODS, KS, has_llm(dataset))
    return akd.variants.with_fractions(names, config["student"].get("train_fractions", []))


def rationale_input(wildcards):
    """The rationale file a run trains on (none for the kinds without one, or with the data's own)."""
    run = akd.variants.parse(wildcards.variant, METHODS)
    if run.kind.rationale == "cot":
        return [f"{RESULTS}/{wildcards.dataset}/teacher/{TEACHER}/cot/train.parquet"]
    if run.kind.rationale not in ("attribution", "control"):
        return []
    return [f"{RESULTS}/{wildcards.dataset}/rationales/{TEACHER}/{run.source}/k{run.k}/train.parquet"]


def teacher_labels_input(wildcards):
    """The teacher's answers on train (and its passed check) for the runs that learn them (seqkd)."""
    if akd.variants.parse(wildcards.variant, METHODS).kind.labels != "teacher":
        return {}
    folder = f"{RESULTS}/{wildcards.dataset}/teacher/{TEACHER}/predictions"
    return {"teacher_labels": f"{folder}/train.parquet", "teacher_check": f"{folder}/check.json"}


def teacher_logits_input(wildcards):
    """The teacher's distributions over the training labels, for the logit-distilled runs (kd)."""
    if not akd.variants.parse(wildcards.variant, METHODS).kind.logits:
        return {}
    return {"teacher_logits": f"{RESULTS}/{wildcards.dataset}/teacher/{TEACHER}/logits/train.parquet"}


def kd_settings():
    """student.kd with its defaults (akd.kd): what the logit-distilled runs and teacher_logits use."""
    kd = dict(config["student"].get("kd") or {})
    return {"alpha": float(kd.get("alpha", 0.5)), "temperature": float(kd.get("temperature", 1.0)),
            "divergence": kd.get("divergence", "forward"), "top": int(kd.get("top", 20))}


def student_settings(wildcards):
    student = config["student"]
    kd = kd_settings()
    return as_params(
        {
            "model": model_spec(STUDENT),
            "seed": int(wildcards.seed),
            "train": without_runtime(student["train"]) | answer_settings(),
            "device": DEVICE,
        }
        # the subsets' seed, for the runs on a share of the training split only
        | ({"subset_seed": int(student.get("subset_seed", 0))} if "-data" in wildcards.variant else {})
        # how the label task learns the teacher's distributions, for the kd runs only
        | ({"kd": {k: kd[k] for k in ("alpha", "temperature", "divergence")}}
           if akd.variants.parse(wildcards.variant, METHODS).kind.logits else {})
    )


def teacher_logits_settings(dataset):
    """What teacher_logits uses: the teacher as it answers (its prompts), the kept tokens and
    temperature, and the student's tokenizer and target limits (the label tokens are the student's)."""
    teacher = teacher_settings(dataset)
    keep = ("model", "gguf_file", "trust_remote_code", "template", "format", "choice_answer", "chat", "shots",
            "shot_seed", "batch_size", "max_input_tokens", "device")
    student = config["models"][STUDENT]
    train = config["student"]["train"]
    return as_params({
        **{k: teacher[k] for k in keep if k in teacher},
        "kd": {k: kd_settings()[k] for k in ("top", "temperature")},
        "student": {"model": model_spec(STUDENT), "trust_remote_code": bool(student.get("trust_remote_code", False)),
                    "train": {k: train[k] for k in ("max_input_tokens", "max_target_tokens") if k in train}},
    })


def answer_settings():
    """How students answer (student.answer / normalise), only where the config sets it, so that
    results of configs without it keep their params."""
    return {k: config["student"][k] for k in ("answer", "normalise") if k in config["student"]}


def runs():
    return [
        dict(dataset=d, variant=v, seed=s)
        for d in DATASETS
        for v in variants(d)
        for s in SEEDS
    ]


def run_dir(r):
    return f"{RESULTS}/{r['dataset']}/students/{STUDENT}/{r['variant']}/seed{r['seed']}"


def aggregate_runs():
    return [
        dict(r, task=config["datasets"][r["dataset"]]["task"], predictions=f"{run_dir(r)}/test_predictions.parquet",
             metrics=f"{run_dir(r)}/metrics.json", similarity=f"{run_dir(r)}/similarity.json")
        for r in runs()
    ]


def similarity_settings():
    """Teacher-student top-k overlap: the controls' attribution method at a fixed k (not max(k), so
    that adding a k does not rerun every evaluation)."""
    evaluation = config["student"].get("eval", {})
    settings = {
        **method_settings(CONTROL_METHOD),
        "k": int(evaluation.get("similarity_k", 5)),
        "n": int(evaluation.get("similarity_examples", 200)),
        **RATIONALE_FLAGS,
    }
    return as_params(settings)


def teacher_metrics():
    """Per dataset: the teacher's test metrics and predictions (the accuracy table's teacher column)."""
    return [
        dict(
            dataset=d,
            metrics=f"{RESULTS}/{d}/teacher/{TEACHER}/predictions/test.json",
            predictions=f"{RESULTS}/{d}/teacher/{TEACHER}/predictions/test.parquet",
        )
        for d in DATASETS
    ]


def overlap_items():
    return [
        dict(
            dataset=d,
            method=m,
            attributions=f"{RESULTS}/{d}/teacher/{TEACHER}/attributions/{m}/train.parquet",
            examples=f"{RESULTS}/{d}/data/train.parquet",
        )
        for d in DATASETS
        for m in METHODS
    ]


#: training examples whose top-k words are tested for faithfulness (0: the analysis is off)
FAITHFULNESS_N = int((config.get("analyses") or {}).get("faithfulness_examples", 0))


def faithfulness_items():
    if not FAITHFULNESS_N:
        return []
    return [
        dict(dataset=d, k=k, faithfulness=f"{RESULTS}/{d}/teacher/{TEACHER}/faithfulness/k{k}.parquet")
        for d in DATASETS
        for k in KS
    ]


def cot_from_base():
    """Whether the chains of thought come from the model before fine-tuning (`teacher.cot.model: base`)."""
    return bool(config["teacher"].get("finetune")) and (config["teacher"].get("cot") or {}).get("model") == "base"


def cot_model_dir(dataset):
    return model_dir(dataset, TEACHER) if cot_from_base() else teacher_dir(dataset)


def cot_model_input(wildcards):
    return model_input(wildcards.dataset, TEACHER) if cot_from_base() else teacher_input(wildcards)


def cot_settings(dataset):
    """What the teacher's chain of thought uses: its model, chat setting, batch and the cot slice."""
    teacher = teacher_settings(dataset)
    keep = ("model", "gguf_file", "trust_remote_code", "chat", "batch_size", "max_input_tokens", "device")
    settings = {k: teacher[k] for k in keep if k in teacher}
    if cot_from_base():  # the original weights, as fine-tuning reads them
        settings["gguf_file"] = akd.config.teacher_gguf_file(config, finetuning=True)
    return as_params({**settings, "cot": dict(config["teacher"].get("cot") or {})})


def plausibility_items():
    if not (config.get("analyses") or {}).get("plausibility"):
        return []
    return [
        dict(
            dataset=d,
            method=m,
            k=k,
            top=f"{RESULTS}/{d}/rationales/{TEACHER}/{m}/k{k}/train.parquet",
            random=f"{RESULTS}/{d}/rationales/{TEACHER}/random/k{k}/train.parquet",
            human=f"{RESULTS}/{d}/data/human_rationales.parquet",
            attributions=f"{RESULTS}/{d}/teacher/{TEACHER}/attributions/{m}/train.parquet",
        )
        for d in DATASETS
        if akd.config.has_human_rationales(config, d)
        for m in ANALYSED_METHODS
        for k in KS
    ]


def faithfulness_settings(dataset):
    """The teacher's model and batch sizes (as the random words' attribution loads it) and how many examples."""
    settings = attribution_settings(dataset, CONTROL_METHOD)
    keep = ("model", "gguf_file", "trust_remote_code", "device", "batch_size", "max_input_tokens")
    return as_params({**{k: settings[k] for k in keep if k in settings}, "n": FAITHFULNESS_N})


def teacher_table_items():
    return [
        dict(dataset=d, split=s, metrics=f"{RESULTS}/{d}/teacher/{TEACHER}/predictions/{s}.json")
        for d in DATASETS
        for s in TEACHER_SPLITS
    ]


def paths(items, name):
    """One path of each item, in order (a rule's named input)."""
    return [it[name] for it in items]


def keys(items, *names):
    """The items without their paths (a rule's params: what the report shows, kept short); the job
    puts the paths back from its inputs, in the same order (akd.smk.with_paths)."""
    return [{n: it[n] for n in names} for it in items]


def teacher_targets():
    """What `snakemake teacher` makes: the teacher's answers on train and test, their checks, the
    training split's attributions (what rationales are made of) and the tables. (The test split's
    attributions are made when students are evaluated against them.)"""
    html = [f"{RESULTS}/{d}/teacher/{TEACHER}/attributions/{m}/train.html" for d in DATASETS for m in METHODS]
    attributions = [f"{RESULTS}/{d}/teacher/{TEACHER}/attributions/{m}/train.parquet" for d in DATASETS for m in METHODS]
    faithfulness = [f"{RESULTS}/tables/faithfulness.csv"] if FAITHFULNESS_N else []
    faithfulness += [f"{RESULTS}/tables/plausibility.csv"] if plausibility_items() else []
    return [
        f"{RESULTS}/tables/teacher.csv",
        f"{RESULTS}/tables/teacher.md",
        f"{RESULTS}/tables/answer_overlap.csv",
        *html,
        *attributions,
        *faithfulness,
    ]


def all_targets():
    if not HAS_STUDENT:
        return teacher_targets()
    return [
        f"{RESULTS}/tables/accuracy.csv",
        f"{RESULTS}/tables/accuracy.md",
        f"{RESULTS}/plots/accuracy.png",
        f"{RESULTS}/plots/accuracy_vs_k.png",
        f"{RESULTS}/tables/similarity.csv",
        *[f"{RESULTS}/plots/training_curves/{d}.png" for d in DATASETS],
        *([f"{RESULTS}/plots/accuracy_vs_data.png"] if config["student"].get("train_fractions") else []),
        *teacher_targets(),
    ]
