"""Semantic checks of the whole config, beyond what the JSON schema can say.

Run by the Snakefile before any job, so mistakes surface before compute is spent.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml

from .errors import AkdError
from .sources import tabular
from .specs import (TINY_PRESETS, ModelSpecError, check_spec, is_tiny, offline_json, offline_vocabulary, resolve_spec,
                    vocabulary_difference)


class ConfigError(AkdError, ValueError):
    pass


def validate_schema(config: dict, schema_path: str | Path) -> None:
    """Check ``config`` against the JSON schema; one short message per problem, naming the key."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = key_path(err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties":
            known = list(err.schema.get("properties", {}))
            extra = [k for k in err.instance if k not in known]
            for k in extra:
                hint = difflib.get_close_matches(k, known, n=1)
                key = f"{where}.{k}" if err.absolute_path else k
                problems.append(f"{key}: unknown key" + (f"; did you mean {hint[0]!r}?" if hint else f"; known keys: {known}"))
        elif err.validator in ("anyOf", "oneOf"):
            problems.append("{}: {}".format(*_alternatives(err)))
        elif err.validator == "enum":
            problems.append(f"{where}: {err.message}{_did_you_mean(err.instance, err.validator_value)}")
        else:
            problems.append(f"{where}: {err.message}")
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))


def key_path(parts) -> str:
    """``student.variants[1]``: a config key as the messages name it."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _did_you_mean(value, choices) -> str:
    if not isinstance(value, str):
        return ""
    hint = difflib.get_close_matches(value, [c for c in choices if isinstance(c, str)], n=1)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def _alternatives(err) -> tuple[str, str]:
    """(key, message) for a value that matches none of a key's alternatives, instead of jsonschema's
    'is not valid under any of the given schemas': for a mapping or a list, the problem inside the
    alternative of its type; for a plain value, the valid values (the alternatives' ``enum``) and
    what the descriptions say of the others."""
    import jsonschema

    if isinstance(err.instance, (dict, list)):
        # the alternatives of another type do not apply (their error is "is not of type" at the key itself)
        wrong_type = {e.relative_schema_path[0] for e in err.context if not e.relative_path and e.validator == "type"}
        inside = [e for e in err.context if e.relative_schema_path[0] not in wrong_type]
        if inside:
            best = jsonschema.exceptions.best_match(inside)
            return key_path(best.absolute_path) or "(top level)", best.message
    values = [v for sub in err.validator_value for v in sub.get("enum", [])]
    others = [sub["description"] for sub in err.validator_value if "enum" not in sub and sub.get("description")]
    if len(others) + (1 if values else 0) < len(err.validator_value):  # alternatives the sub-schemas do not describe
        what = re.split(r"\. | \(default|; a change", err.schema.get("description", ""))[0]  # what, not defaults or reruns
        expected = f"; expected {what}" if what else ""
        return key_path(err.absolute_path), f"{err.instance!r} is not valid{expected}"
    return key_path(err.absolute_path), (f"{err.instance!r} is not one of {', '.join([*map(str, values), *others])}"
                                         + _did_you_mean(err.instance, values))


def model_spec(config: dict, alias: str) -> str:
    """The folder or hub name of a model alias (a ``package:`` entry resolves to its folder; a
    ``shrink:`` entry has no spec of its own: its folder is built by the workflow)."""
    entry = config["models"][alias]
    if entry.get("shrink"):
        return f"shrink:{alias}"
    return resolve_spec(entry)


def teacher_gguf_file(config: dict, finetuning: bool = False) -> str | None:
    """The GGUF file a teacher job reads: the model's, except once the teacher is fine-tuned, whose
    jobs read the saved folder of plain weights (only fine-tuning itself reads the original)."""
    gguf = config["models"][config["teacher"]["model"]].get("gguf_file")
    return gguf if finetuning or not config["teacher"].get("finetune") else None


def _check_shrink(models: dict, alias: str, entry: dict) -> None:
    where = f"models.{alias}"
    extra = sorted(k for k in ("model", "package", "gguf_file") if entry.get(k))
    if extra:
        raise ConfigError(f"{where}: `shrink` builds the model from another alias; drop {extra}")
    source = entry["shrink"]["from"]
    if source not in models or source == alias:
        raise ConfigError(f"{where}.shrink.from: {source!r} is not another alias in `models` ({sorted(models)})")
    if models[source].get("shrink") or str(models[source].get("model", "")).startswith("tiny:"):
        raise ConfigError(f"{where}.shrink.from: {source!r} must be a pretrained model (a folder, hub name or package), "
                          "not a tiny: preset or another shrunk model")


def teacher_config(config: dict, dataset: str) -> dict:
    """The `teacher` section as it applies to one dataset (updated by `datasets.<name>.teacher`)."""
    return {**config["teacher"], **(config["datasets"][dataset].get("teacher") or {})}


def _check_results(results: str) -> None:
    """``results`` must be a folder or a path where one can be made (no file on the way)."""
    path = Path(results).expanduser()
    for p in [path, *path.parents]:
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"results: {results} is a file, not a folder" if p == path else
                                  f"results: {results} cannot be a folder: {p} is a file")
            return


def _source_config_json(entry: dict) -> dict | None:
    """A pretrained model's config.json, read without the network and without its weights: from its
    folder, or from the local Hugging Face cache for a hub name; None when it cannot be read so (not
    cached, or a GGUF file, whose settings are inside it)."""
    if entry.get("gguf_file"):
        return None
    return offline_json(resolve_spec(entry), "config.json")


def _check_shrink_layers(models: dict, alias: str) -> None:
    """A shrink spec against its source's architecture and layer counts, where its config.json can
    be read offline (else the shrink job checks it once it has loaded the model)."""
    from .shrink import check_spec as check_shrink_spec
    from .shrink import layer_counts

    entry = models[alias]["shrink"]
    source = models[entry["from"]]
    settings = _source_config_json(source)
    if settings is None:
        return
    spec = {k: v for k, v in entry.items() if k != "from"}
    name = f"the source {resolve_spec(source)!r}"
    try:
        model_type = str(settings.get("model_type"))
        counts = layer_counts(model_type, settings)
        check_shrink_spec(model_type, counts, spec, name)
    except ModelSpecError as e:  # "shrink.<key>: ..." or "shrinking a 'bart' model is not supported ..."
        message = str(e) if str(e).startswith("shrink.") else f"shrink.from: {e} ({name})"
        raise ConfigError(f"models.{alias}.{message}") from None


def _check_kd_tokenizers(config: dict) -> None:
    """Logit distillation (a kd variant): the teacher and the student must share their tokenizer's
    ids. Decided here where it can be without the network or torch: a shrunk copy of the teacher
    (its tokenizer), tiny presets (tokenizers trained on the data, at the preset's size), and
    tokenizer.json files in folders or the local hub cache; else the teacher_logits job compares the
    loaded tokenizers before it loads any weights."""
    if not any(v == "kd" or v.startswith("kd-") for v in (config.get("student") or {}).get("variants", [])):
        return
    models = config["models"]
    base = [config[role]["model"] for role in ("teacher", "student")]
    base = [models[a]["shrink"]["from"] if models[a].get("shrink") else a for a in base]  # a copy's tokenizer
    if base[0] == base[1]:
        return
    specs = [resolve_spec(models[a]) for a in base]
    if any(is_tiny(sp) for sp in specs):
        sizes = [TINY_PRESETS[sp[5:]]["vocab_size"] if is_tiny(sp) else None for sp in specs]
        if sizes[0] != sizes[1]:
            names = [f"{sp} ({n} tokens)" if n else f"{sp} (pretrained)" for sp, n in zip(specs, sizes)]
            raise ConfigError(f"student.variants: logit distillation needs the teacher and the student to share "
                              f"their tokenizer's ids: {names[0]} and {names[1]} cannot; use a student of the teacher's "
                              "family (T5, Qwen, a shrunk copy)")
        return
    vocab = [None if models[a].get("gguf_file") else offline_vocabulary(sp) for a, sp in zip(base, specs)]
    if vocab[0] is not None and vocab[1] is not None:
        reason = vocabulary_difference(vocab[0], vocab[1], specs[0], specs[1])
        if reason:
            raise ConfigError(f"student.variants: {reason}")


def _check_demos(demos: list[dict]) -> None:
    for i, demo in enumerate(demos):
        for field in ("input", "rationale", "answer"):
            if not str(demo.get(field, "")).strip():
                raise ConfigError(f"teacher.cot.demos[{i}].{field}: is empty; a demonstration needs its input, its "
                                  "rationale (the reasoning, which the prompt puts before 'So the answer is') and its answer")
        if demo.get("choices") and demo["answer"] not in demo["choices"]:
            raise ConfigError(f"teacher.cot.demos[{i}].answer: {demo['answer']!r} is not one of its choices "
                              f"{demo['choices']} (the demonstration would state an answer with no letter)")


def _check_dss(config: dict, names: list[str]) -> None:
    """The DSS files every dss dataset reads, before any job: the root, the dataset's folder, each
    split's file and its LLM output files (numbered without a gap)."""
    from .sources import dss
    from .sources.common import DataError

    root = config["sources"]["dss"]["root"]
    if not Path(root).is_dir():
        raise ConfigError(f"sources.dss.root: {root} is not a folder (datasets {names} read from it); unzip DSS's "
                          f"datasets.zip so that {root}/<name>/<name>_train.json exists, or point sources.dss.root at it")
    for name in names:
        ds = dataset_settings(config, name)
        try:
            dss.check_folder(root, ds["name"])
        except DataError as e:
            raise ConfigError(f"datasets.{name}.name: {e}") from None
        mapping = {"train": "train", "valid": "valid", "test": "test", **(ds.get("splits") or {})}
        for split, file_split in mapping.items():
            if file_split is None:
                continue
            try:
                dss.check_split(root, ds["name"], file_split)
            except DataError as e:
                raise ConfigError(f"datasets.{name}.splits.{split}: {e}") from None


def _check_prompt_limit(config: dict) -> None:
    """One limit for everything that reads the teacher's prompt (answering, fine-tuning on it,
    attribution, faithfulness): ``teacher.max_input_tokens``; another value elsewhere is an error."""
    t = config["teacher"]
    limit = int(t.get("max_input_tokens", 1024))
    for where, value in (("attribution.max_input_tokens", (config.get("attribution") or {}).get("max_input_tokens")),
                         ("teacher.finetune.max_input_tokens", (t.get("finetune") or {}).get("max_input_tokens"))):
        if value is not None and int(value) != limit:
            raise ConfigError(f"{where}: {value} differs from teacher.max_input_tokens ({limit}); the teacher's prompt "
                              "is cut at one limit wherever it is read (answering, fine-tuning, attribution, "
                              "faithfulness): drop this key or set it to the same value")


def check(config: dict) -> None:
    _check_results(str(config.get("results", "results")))
    models = config["models"]
    for role in ("teacher", "student"):
        if role not in config:
            continue
        alias = config[role]["model"]
        if alias not in models:
            raise ConfigError(f"{role}.model: {alias!r} is not an alias in `models` ({sorted(models)})")
    for alias, m in models.items():
        if m.get("shrink"):
            _check_shrink(models, alias, m)
            continue
        if not m.get("model") and not m.get("package"):
            raise ConfigError(f"models.{alias}: give `model` (a tiny: preset, folder or hub name) or `package`")
        try:
            spec = resolve_spec(m)
            kind = check_spec(spec)
        except ModelSpecError as e:
            raise ConfigError(f"models.{alias}.{'package' if m.get('package') else 'model'}: {e}") from e
        if m.get("package") and kind != "folder":
            raise ConfigError(f"models.{alias}.model: {spec} is not a folder inside package {m['package']!r}")
        gguf = m.get("gguf_file")
        if gguf and kind == "folder" and not (Path(spec) / gguf).exists():
            raise ConfigError(f"models.{alias}.gguf_file: {Path(spec) / gguf} does not exist")
        if gguf and kind == "tiny":
            raise ConfigError(f"models.{alias}.gguf_file: a tiny: preset has no GGUF file")
        if kind != "tiny" and m.get("trust_remote_code"):
            raise ConfigError(f"models.{alias}.trust_remote_code: remote code is not allowed by this workflow")
    for alias in sorted(a for a, m in models.items() if m.get("shrink")):
        _check_shrink_layers(models, alias)
    if "student" in config:
        _check_kd_tokenizers(config)
    t = config["teacher"]
    accept = t.get("accept_weak")
    if isinstance(accept, list):
        unknown = sorted(set(accept) - set(config["datasets"]))
        if unknown:
            raise ConfigError(f"teacher.accept_weak: {unknown} are not datasets of this config ({sorted(config['datasets'])})")
    _check_prompt_limit(config)
    for name, ds in config["datasets"].items():
        if ds["task"] == "math" and teacher_config(config, name).get("answer") == "rank":
            where = f"datasets.{name}.teacher.answer" if (ds.get("teacher") or {}).get("answer") else "teacher.answer"
            raise ConfigError(f"{where}: rank needs a label space, and {name!r} is math (its answers are equations); "
                              "leave `answer` unset (rank for nli and mc, generate for math) or override it per dataset")
    if (config.get("student") or {}).get("answer") == "rank":
        maths = sorted(name for name, ds in config["datasets"].items() if ds["task"] == "math")
        if maths:
            raise ConfigError(f"student.answer: rank needs a label space, and {maths} are math (answers are "
                              "equations, generated); use generate, or run the math datasets in another config")
    _check_demos((config["teacher"].get("cot") or {}).get("demos") or [])
    analyses = config.get("analyses") or {}
    compare = list(analyses.get("compare_methods") or [])
    if compare:
        both = sorted(set(compare) & set(config["attribution"]["methods"]))
        if both:
            raise ConfigError(f"analyses.compare_methods: {both} are already attribution.methods (attributed on the "
                              "whole split, students trained on them); list a method in one of the two")
        if not int(analyses.get("faithfulness_examples", 0)):
            raise ConfigError("analyses.compare_methods: these methods are attributed on the first "
                              "analyses.faithfulness_examples training examples, which is 0 (off); set it (e.g. 100)")
    control = config["rationales"].get("control_method")
    if control and control not in config["attribution"]["methods"]:
        raise ConfigError(f"rationales.control_method: {control!r} is not one of attribution.methods "
                          f"{config['attribution']['methods']}")
    for name, ds in config["datasets"].items():
        where = f"datasets.{name}"
        src = ds["source"]
        if src == "synthetic" and "sizes" not in ds:
            raise ConfigError(f"{where}: a synthetic dataset needs `sizes: {{train, valid, test}}`")
        if src == "dss":
            root = config.get("sources", {}).get("dss", {}).get("root")
            if not root:
                raise ConfigError(f"{where}: source dss needs `sources.dss.root`")
        if src == "hub" and "name" not in ds:
            raise ConfigError(f"{where}: source hub needs `name` (the datasets name)")
        if src == "file":
            if "files" not in ds:
                raise ConfigError(f"{where}: source file needs `files: {{train, valid, test}}`")
            for split, f in ds["files"].items():
                if f and not Path(f).exists():
                    raise ConfigError(f"{where}.files.{split}: {f} does not exist")
        if src == "synthetic" and (ds.get("splits") or ds.get("files")):
            raise ConfigError(f"{where}: synthetic datasets take `sizes`, not `splits`/`files`")
    dss_names = sorted(n for n, ds in config["datasets"].items() if ds["source"] == "dss")
    if dss_names:
        _check_dss(config, dss_names)
    student = config.get("student") or {}
    cot = config["teacher"].get("cot") or {}
    if "cot" in student.get("variants", []) and not cot.get("demos") and int(cot.get("shots", 3)):
        bare = without_llm_rationales(config)
        if bare:
            raise ConfigError(f"student.variants: cot draws the teacher's demonstrations from LLM rationales, and "
                              f"{bare} have none; write demonstrations in teacher.cot.demos (input, rationale, answer)")


#: Model jobs' resources when the config does not say (a ~3B teacher, a t5-base student, one GPU).
DEFAULT_RESOURCES = {
    "teacher": {"gpu": 1, "threads": 4, "mem_mb": 32000, "runtime": 240},
    "student": {"gpu": 1, "threads": 4, "mem_mb": 16000, "runtime": 120},
}


def canonical(value):
    """A params value with every mapping's keys sorted, recursively.  Snakemake compares params by
    their repr, so without this, reordering (or re-dumping) the config would rerun jobs."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def job_resources(config: dict) -> dict[str, dict[str, int]]:
    """threads / gpu / mem_mb / runtime of the teacher's and the student's jobs."""
    given = config.get("resources") or {}
    return {role: {k: int(v) for k, v in {**d, **(given.get(role) or {})}.items()}
            for role, d in DEFAULT_RESOURCES.items()}


def n_shards(config: dict, dataset: str, split: str) -> int:
    """Teacher jobs for one split: ``datasets.<name>.shards`` over ``teacher.shards`` (default 1)."""
    for value in (config["datasets"][dataset].get("shards"), config["teacher"].get("shards")):
        if value is None:
            continue
        if isinstance(value, dict):
            if split in value:
                return int(value[split])
            continue
        return int(value)
    return 1


def dataset_settings(config: dict, name: str) -> dict:
    """The config slice the ``prepare`` stage of one dataset needs (plain types only)."""
    # sharding and how the teacher answers are not data
    ds = {k: v for k, v in config["datasets"][name].items() if k not in ("shards", "teacher")}
    ds.setdefault("name", name)
    if ds["source"] == "dss":
        ds["root"] = config["sources"]["dss"]["root"]
        ds.setdefault("splits", {"train": "train", "valid": "valid", "test": "test"})
    return ds


def has_human_rationales(config: dict, name: str) -> bool:
    """Whether a dataset carries people's rationales (the plausibility analysis runs on it)."""
    from .sources.dss import HUMAN_RATIONALES

    ds = dataset_settings(config, name)
    return ds["source"] == "dss" and ds["name"] in HUMAN_RATIONALES


def has_llm_rationales(ds: dict) -> bool:
    """Whether a dataset carries LLM rationales (so the ``llm`` variant runs on it): DSS and synthetic
    data do; a file dataset does when its training file has a rationale (text in its ``rationale``
    column, or the column ``columns`` maps it to); a hub dataset, whose columns planning cannot see,
    when ``columns`` maps it."""
    columns = ds.get("columns") or {}
    if ds["source"] in ("dss", "synthetic"):
        return True
    if ds["source"] == "hub":
        return "rationale" in columns
    train = {**(ds.get("files") or {}), **(ds.get("splits") or {})}.get("train")  # as akd.prepare reads it
    return bool(train) and tabular.file_has_text(train, columns.get("rationale", "rationale"))


def without_llm_rationales(config: dict) -> list[str]:
    """The config's datasets that carry no LLM rationales (:func:`has_llm_rationales`), sorted."""
    return sorted(n for n, ds in config["datasets"].items() if not has_llm_rationales(ds))


def notices(config: dict) -> list[str]:
    """What the workflow will leave out of a valid config that its author may not expect: printed
    while Snakemake plans, without stopping it."""
    out = []
    if "llm" in (config.get("student") or {}).get("variants", []):
        bare = without_llm_rationales(config)
        if bare:
            out.append(f"student.variants: llm trains on a dataset's LLM rationales, and {bare} have none (no `rationale` "
                       "column in a file's training split; a hub dataset needs it mapped in `columns`): llm is not trained on them")
    return out
