"""Ops that check the dbt installation from inside a Dagster run.

``dbt_version`` runs the real ``dbt --version`` and reports core and plugin versions;
``dbt_parse`` parses the bundled template project through dagster-dbt's ``DbtCliResource``
and reports what the manifest contains. Both fail the run when dbt does.
"""

# No `from __future__ import annotations` here: Dagster inspects the `context` annotation at
# decoration time and rejects it when it is a string.
import json
import re
import subprocess
from pathlib import Path

from dagster import Failure, In, MetadataValue, Nothing, OpExecutionContext, Out, Output, op
from dagster_dbt import DbtCliResource

from .paths import dbt_artifacts_dir, dbt_executable

_INSTALLED_RE = re.compile(r"installed:\s*(\d+\.\d+\.\d+\S*)")
_PLUGIN_RE = re.compile(r"^\s*-\s*([a-z0-9_]+):\s*(\d+\.\d+\.\d+\S*)", re.MULTILINE)


def parse_dbt_version_output(output: str) -> dict[str, object]:
    """Extract ``{"core": "1.10.x", "plugins": {"postgres": "1.9.x"}}`` from ``dbt --version``."""
    core = _INSTALLED_RE.search(output)
    plugins_section = output.split("Plugins:", 1)[1] if "Plugins:" in output else ""
    plugins = {name: version for name, version in _PLUGIN_RE.findall(plugins_section)}
    return {"core": core.group(1) if core else None, "plugins": plugins}


@op(
    out=Out(dict, description="dbt core and plugin versions"),
    description="Runs `dbt --version` with the venv's dbt and fails unless core and the postgres "
    "plugin are installed.",
)
def dbt_version(context: OpExecutionContext):
    executable = dbt_executable()
    proc = subprocess.run(
        [executable, "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise Failure(
            description=f"`{executable} --version` exited with {proc.returncode}",
            metadata={"output": MetadataValue.md(f"```\n{output[-4000:]}\n```")},
        )
    versions = parse_dbt_version_output(output)
    plugins = versions["plugins"]
    if not versions["core"] or not isinstance(plugins, dict) or "postgres" not in plugins:
        raise Failure(
            description="dbt --version did not report dbt-core and the postgres plugin",
            metadata={"output": MetadataValue.md(f"```\n{output[-4000:]}\n```")},
        )
    context.log.info(f"dbt-core {versions['core']}, plugins {plugins}")
    yield Output(
        versions,
        metadata={
            "dbt_executable": executable,
            "dbt_core": str(versions["core"]),
            "dbt_postgres": str(plugins["postgres"]),
        },
    )


@op(
    ins={"after": In(Nothing)},
    out=Out(dict, description="counts of the nodes in the parsed manifest"),
    description="Runs `dbt parse` on the project configured in the `dbt` resource and reports "
    "the models, tests and sources of the resulting manifest.",
)
def dbt_parse(context: OpExecutionContext, dbt: DbtCliResource):
    target_path = dbt_artifacts_dir() / "target" / f"{context.run_id[:8]}-{context.op.name}"
    invocation = dbt.cli(["parse"], target_path=target_path, raise_on_error=False).wait()
    if not invocation.is_successful():
        raise Failure(
            description=f"dbt parse failed for {dbt.project_dir}",
            metadata={
                "target_path": str(target_path),
                "error": str(invocation.get_error()),
            },
        )
    manifest_path = Path(invocation.target_path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for node in manifest.get("nodes", {}).values():
        kind = str(node.get("resource_type"))
        counts[kind] = counts.get(kind, 0) + 1
    counts["source"] = len(manifest.get("sources", {}))
    if counts.get("model", 0) == 0:
        raise Failure(description=f"dbt parse of {dbt.project_dir} found no models")
    context.log.info(f"dbt parse of {dbt.project_dir}: {counts}")
    yield Output(
        counts,
        metadata={
            "manifest": MetadataValue.path(str(manifest_path)),
            "models": counts.get("model", 0),
            "tests": counts.get("test", 0),
        },
    )
