"""The files at the repository's root that tools read: LICENSE, CITATION.cff (Citation File Format
1.2.0) and .snakemake-workflow-catalog.yml (the Snakemake workflow catalog's usage settings)."""

import re
import tomllib

import yaml

from workflow_helpers import ROOT

#: The keys CFF 1.2.0 allows at the top level and in a reference (its schema.json), the ones used here.
CFF_KEYS = {"abstract", "authors", "cff-version", "commit", "contact", "date-released", "doi", "identifiers",
            "keywords", "license", "license-url", "message", "preferred-citation", "references", "repository",
            "repository-artifact", "repository-code", "title", "type", "url", "version"}
REFERENCE_KEYS = {"authors", "title", "type", "year", "conference", "collection-title", "collection-type",
                  "publisher", "doi", "identifiers", "url", "repository-code", "volume", "start", "end", "pages"}


def _version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_the_code_is_mit_licensed():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the akd authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text


def test_the_citation_file_parses_and_cites_the_paper():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert {"cff-version", "message", "title", "authors"} <= set(cff), "CFF's required keys"
    assert set(cff) <= CFF_KEYS, set(cff) - CFF_KEYS
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "MIT"
    assert cff["version"] == _version(), "CITATION.cff's version is pyproject.toml's"
    assert cff["authors"] == [{"name": "the akd authors"}]
    paper = cff["preferred-citation"]
    refs = [paper, *cff.get("references", [])]
    for ref in refs:
        assert {"type", "title", "authors"} <= set(ref) <= REFERENCE_KEYS, ref["title"]
        assert all(set(a) == {"given-names", "family-names"} and all(a.values()) for a in ref["authors"])
        if "doi" in ref:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", ref["doi"])  # the DOI itself, not a resolver URL
    assert paper["type"] == "conference-paper" and paper["year"] == 2024 and "NLDB 2024" in paper["conference"]["name"]
    assert [a["family-names"] for a in paper["authors"]] == ["Ballout", "Krumnack", "Heidemann", "Kühnberger"]


def test_the_catalog_settings_parse_and_name_files_that_exist():
    settings = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    usage = settings["usage"]
    assert set(settings) == {"usage"} and set(usage) == {"mandatory-flags", "software-stack-deployment", "report"}
    flags, desc = usage["mandatory-flags"]["flags"], usage["mandatory-flags"]["desc"]
    named = set(re.findall(r"(?:configs|envs|profiles)/[\w-]+(?:\.ya?ml)?", flags + " " + desc))
    assert "configs/paper.yaml" in named
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert not missing, missing
    # conda: every rule that runs a job has the conda environment
    deploy = usage["software-stack-deployment"]
    assert deploy["conda"] is True and not deploy["apptainer"] and (ROOT / "envs/akd.yaml").exists()
    rules = "\n".join(p.read_text() for p in sorted((ROOT / "workflow/rules").glob("*.smk")))
    assert rules.count('"../../envs/akd.yaml"') == len(re.findall(r"^\s+(?:script|shell|run):", rules, re.M)) > 0
    assert not re.search(r"^\s*container:", rules + (ROOT / "Snakefile").read_text(), re.M)
    # report: the Snakefile has a report description and results are registered for it
    assert usage["report"] is True and re.search(r'^report: "workflow/report/workflow.rst"', (ROOT / "Snakefile").read_text(), re.M)
    assert (ROOT / "workflow/report/workflow.rst").exists() and "report(" in rules
