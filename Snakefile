# Attribution-guided knowledge distillation (Ballout et al., NLDB 2024) as a Snakemake workflow.
# The method, the layout and the choices where the paper is silent: README.md.

import sys

from snakemake.utils import min_version

# The checkout's own akd package, before any installed copy: here (for the config checks) and in
# every job (scripts inherit PYTHONPATH; cluster jobs parse this file again and set it there).
sys.path.insert(0, f"{workflow.basedir}/src")
import akd.smk

akd.smk.checkout_first(f"{workflow.basedir}/src")
akd.smk.quiet_scheduler(workflow.output_settings.quiet)

min_version("9.0")


# config.yaml is the embedded default; `--configfile X.yaml [Y.yaml ...]` replaces it (files
# given later update earlier ones), so a paper or test config never inherits the demo's datasets.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


import akd.config

# the schema (one message per problem, naming the key); then the checks it cannot express (common.smk)
akd.smk.config_checked(akd.config.validate_schema, config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/teacher.smk"
include: "workflow/rules/rationales.smk"
include: "workflow/rules/analyses.smk"
if HAS_STUDENT:

    include: "workflow/rules/student.smk"
    include: "workflow/rules/aggregate.smk"


rule all:
    input:
        all_targets(),
    default_target: True
