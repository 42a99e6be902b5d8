"""The config reference: every key documented once, in the schema, and docs/configuration.md
generated from it (docs/make_config_reference.py).  Torch-free and quick."""

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from workflow_helpers import ROOT

spec = importlib.util.spec_from_file_location("make_config_reference", ROOT / "docs/make_config_reference.py")
reference = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
spec.loader.exec_module(reference)

DOC = ROOT / "docs/configuration.md"
CONFIGS = sorted([ROOT / "config.yaml", *ROOT.glob("configs/*.yaml"), *ROOT.glob("tests/configs/*.yaml")])


def test_the_reference_is_generated_from_the_schema():
    assert DOC.read_text() == reference.render(), (
        f"docs/configuration.md is not what the schema gives: run `{reference.COMMAND}` after changing "
        "workflow/schemas/config.schema.yaml")


def _properties(node: dict, root: dict, where: str):
    """(path, schema) of every key below ``node``, $refs resolved, alternatives and list items included."""
    node = reference.resolve(node, root)
    for name, sub in node.get("properties", {}).items():
        yield f"{where}.{name}".lstrip("."), reference.resolve(sub, root)
        yield from _properties(sub, root, f"{where}.{name}")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        yield f"{where}.*".lstrip("."), reference.resolve(extra, root)
        yield from _properties(extra, root, f"{where}.*")
    for i, alt in enumerate(node.get("oneOf", []) + node.get("anyOf", [])):
        yield from _properties(alt, root, where)
    if isinstance(node.get("items"), dict):
        yield from _properties(node["items"], root, f"{where}[]")


def test_every_key_of_the_schema_has_a_description():
    schema = reference.load_schema()
    walked = list(_properties(schema, schema, ""))
    bare = sorted({path for path, node in walked if not str(node.get("description", "")).strip()})
    assert not bare, f"keys without a description in workflow/schemas/config.schema.yaml: {bare}"
    # under every definition too, where a key's description may sit beside the $ref instead
    for name, definition in schema["definitions"].items():
        bare = [p for p, n in _properties(definition, schema, name) if not str(n.get("description", "")).strip()]
        assert not bare, f"definitions: keys without a description: {bare}"
    assert len({p for p, _ in walked}) > 140  # the walk reaches every section


def _flatten(node, path: str = ""):
    """The dotted paths of a config's keys, with the names a config chooses written as the
    reference writes them (``datasets.<name>.task``) and list items as ``[]``."""
    if isinstance(node, dict):
        for key, value in node.items():
            name = reference.PLACEHOLDERS.get(path, key)
            here = f"{path}.{name}" if path else name
            yield here
            yield from _flatten(value, here)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict):
                yield from _flatten(item, f"{path}[]")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_key_of_the_configs_is_in_the_reference(config: Path):
    text = DOC.read_text()
    missing = sorted({p for p in _flatten(yaml.safe_load(config.read_text())) if f"`{p}`" not in text})
    assert not missing, f"{config.relative_to(ROOT)}: keys docs/configuration.md does not document: {missing}"


def test_the_placeholders_cover_every_named_mapping():
    """A mapping whose keys the config chooses needs a placeholder (the script stops without one)."""
    schema = reference.load_schema()
    paths = [k.path for k in reference.keys(schema)]
    assert len(paths) == len(set(paths))  # one entry per key
    for path in ("datasets.<name>.teacher.format", "models.<alias>.shrink.layers", "teacher.finetune.steps",
                 "student.train.lr", "datasets.<name>.shards.train", "teacher.cot.demos[].input",
                 "references.<name>.<dataset>", "datasets.<name>.columns.<field>", "resources.student.mem_mb"):
        assert path in paths, path
    with pytest.raises(KeyError, match="placeholder"):
        reference.keys({"properties": {"x": {"type": "object", "additionalProperties": {"type": "string"}}}})
