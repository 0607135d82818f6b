"""The Datalinx code location: ``defs`` is what workspace.yaml and the Dagster CLI load.

Jobs:
- ``pipeline_run``: one run of a workspace's pipeline (``pipeline.py``): a ``load`` step per
  source through Dagster Pipes, then ``dbt build``. The workers launch it through Dagster's
  GraphQL API (``workers/src/dagster/client.ts``).
- ``dbt_check``: ``dbt --version`` then ``dbt parse`` of the bundled template project; proves
  that the venv, dbt-postgres and dagster-dbt work together.

Schedules are owned by the control plane (dispatched through NATS ``JOBS``), so none are
defined here.
"""

from __future__ import annotations

from dagster import Definitions, PipesSubprocessClient, job
from dagster_dbt import DbtCliResource

from .dbt_ops import dbt_parse, dbt_version
from .paths import DBT_PROJECT_TEMPLATE_DIR, dbt_executable
from .pipeline import pipeline_run


@job(
    description="Checks the dbt installation: `dbt --version`, then `dbt parse` of the bundled "
    "template project.",
    tags={"datalinx/kind": "check"},
)
def dbt_check():
    dbt_parse(after=dbt_version())


defs = Definitions(
    jobs=[pipeline_run, dbt_check],
    resources={
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_TEMPLATE_DIR),
            profiles_dir=str(DBT_PROJECT_TEMPLATE_DIR),
            dbt_executable=dbt_executable(),
        ),
        "pipes_subprocess_client": PipesSubprocessClient(),
    },
)
