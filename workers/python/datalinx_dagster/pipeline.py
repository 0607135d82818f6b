"""The ``pipeline_run`` job: one run of a Datalinx pipeline.

``sources`` fans out one ``load`` step per source of the pipeline; each ``load`` runs the
worker's TypeScript load of that source (``workers/dist/dagster/load-step.js``) as an external
process through Dagster Pipes, so its log lines reach the run's event log and it reports the
rows it loaded. ``dbt_build`` then runs ``dbt build`` on the workspace's dbt project through
dagster-dbt and reports every model's status, rows and timing from ``run_results.json``.

The run config holds the ``pipeline.run`` job as the control plane dispatched it, so only sealed
secrets: the Pipes process opens them with ``DLX_MASTER_KEY`` from its own environment. dbt
reaches the platform warehouse with ``WAREHOUSE_ADMIN_URL`` (from the environment, never from run
config) as the workspace's role.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation.
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from dagster import (
    Config,
    DagsterEventType,
    DynamicOut,
    DynamicOutput,
    Failure,
    In,
    MetadataValue,
    OpExecutionContext,
    Out,
    Output,
    PipesSubprocessClient,
    in_process_executor,
    job,
    op,
)
from dagster_dbt import DbtCliResource

from .paths import REPO_ROOT, dbt_artifacts_dir, dbt_executable

WORKSPACE_TAG = "datalinx/workspace"
RUN_TAG = "datalinx/run"

_KEY_RE = re.compile(r"[^A-Za-z0-9_]")


class SourcesConfig(Config):
    """The ``pipeline.run`` job (JSON, secrets sealed) and, when the pipeline builds models, the
    dbt project directory relative to ``$DLX_DATA_DIR/dbt``."""

    job: str
    dbt_project: str | None = None


def _node() -> str:
    configured = os.environ.get("DLX_NODE")
    found = configured or shutil.which("node")
    if not found:
        raise Failure(description="node is not on PATH of the Dagster run (set DLX_NODE)")
    return found


def _load_step_script() -> str:
    return os.environ.get("DLX_LOAD_STEP") or str(REPO_ROOT / "workers" / "dist" / "dagster" / "load-step.js")


@op(
    out=DynamicOut(dict),
    description="One `load` step per source of the pipeline, in the pipeline's order.",
)
def sources(context: OpExecutionContext, config: SourcesConfig):
    pipeline_job = json.loads(config.job)
    load_sources = pipeline_job["payload"]["load"]["sources"]
    by_connection = {s["connectionId"]: s for s in load_sources}
    for index, definition in enumerate(pipeline_job["payload"]["definition"]["sources"]):
        source = by_connection.get(definition["connectionId"])
        name = source["name"] if source else definition["connectionId"]
        key = f"{index}_{_KEY_RE.sub('_', name)[:40]}"
        yield DynamicOutput({"index": index, "name": name, "job": config.job}, mapping_key=key)


def _rows_loaded_before(context: OpExecutionContext) -> int:
    """Rows the `load` steps of this run that already ended loaded (their output's `rows`), and of
    the run it re-executes (whose successful steps are not run again): the row limit of a
    pipeline.run is shared by its sources, each getting what the earlier ones left."""
    total = 0
    run_ids = [context.run_id]
    parent = context.run.parent_run_id
    if parent:
        run_ids.append(parent)
    seen: set[str] = set()
    for run_id in run_ids:
        for entry in context.instance.all_logs(run_id, of_type=DagsterEventType.STEP_OUTPUT):
            event = entry.dagster_event
            key = event.step_key if event else None
            if not event or not key or not key.startswith("load[") or key in seen:
                continue
            seen.add(key)
            rows = event.step_output_data.metadata.get("rows")
            total += int(getattr(rows, "value", 0) or 0)
    return total


def _custom(invocation: Any) -> dict:
    """The last ``result`` custom message of the load process (``{ok, rows, summary, error, steps}``)."""
    results = [m for m in invocation.get_custom_messages() if isinstance(m, dict) and m.get("type") == "result"]
    return results[-1] if results else {}


@op(
    ins={"source": In(dict)},
    out=Out(int, description="rows loaded"),
    description="Loads one source into the workspace's warehouse with the worker's TypeScript "
    "sync, as an external process through Dagster Pipes.",
)
def load(context: OpExecutionContext, source: dict, pipes_subprocess_client: PipesSubprocessClient):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_PIPES_")}
    invocation = pipes_subprocess_client.run(
        context=context,
        command=[_node(), _load_step_script()],
        extras={"sourceIndex": source["index"], "job": source["job"], "rowsBefore": _rows_loaded_before(context)},
        env=env,
        cwd=str(REPO_ROOT),
    )
    result = _custom(invocation)
    steps = result.get("steps", [])
    if not result.get("ok"):
        error = result.get("error") or {"code": "LOAD_FAILED", "message": "the load process reported no result"}
        raise Failure(
            description=error["message"],
            metadata={
                "source": source["name"],
                "code": error["code"],
                "message": error["message"],
                "rows": int(result.get("rows", 0)),
                "summary": str(result.get("summary", "")),
                "steps": MetadataValue.json(steps),
            },
        )
    rows = int(result.get("rows", 0))
    yield Output(
        rows,
        metadata={"source": source["name"], "rows": rows, "summary": str(result.get("summary", "")), "steps": MetadataValue.json(steps)},
    )


def _warehouse_profile(pipeline_job: dict, profiles_dir: Path) -> dict[str, str]:
    """Writes profiles.yml (profile ``datalinx``) for the workspace's PLATFORM warehouse; the
    connection values stay in the environment of the dbt process, never in the file."""
    destination = pipeline_job["payload"]["load"]["destination"]
    if "external" in destination:
        raise Failure(
            description="dbt models of a workspace with an external warehouse cannot run in this version; "
            "the sources were loaded"
        )
    admin = os.environ.get("WAREHOUSE_ADMIN_URL")
    if not admin:
        raise Failure(description="the Dagster run has no WAREHOUSE_ADMIN_URL: dbt cannot reach the warehouse")
    url = urlparse(admin)
    profiles_dir.mkdir(parents=True, exist_ok=True)
    (profiles_dir / "profiles.yml").write_text(
        "datalinx:\n"
        "  target: warehouse\n"
        "  outputs:\n"
        "    warehouse:\n"
        "      type: postgres\n"
        "      host: \"{{ env_var('DLX_WH_HOST') }}\"\n"
        "      port: \"{{ env_var('DLX_WH_PORT') | as_number }}\"\n"
        "      user: \"{{ env_var('DLX_WH_USER') }}\"\n"
        "      password: \"{{ env_var('DLX_WH_PASSWORD', '') }}\"\n"
        "      dbname: \"{{ env_var('DLX_WH_DATABASE') }}\"\n"
        "      schema: \"{{ env_var('DLX_WH_SCHEMA') }}\"\n"
        "      role: \"{{ env_var('DLX_WH_ROLE') }}\"\n"
        "      threads: 2\n",
        encoding="utf-8",
    )
    return {
        "DLX_WH_HOST": url.hostname or "127.0.0.1",
        "DLX_WH_PORT": str(url.port or 5432),
        "DLX_WH_USER": unquote(url.username or "postgres"),
        "DLX_WH_PASSWORD": unquote(url.password or ""),
        "DLX_WH_DATABASE": unquote(url.path.lstrip("/") or "postgres"),
        "DLX_WH_SCHEMA": destination["schema"],
        "DLX_WH_ROLE": destination["role"],
    }


def _project_dir(relative: str) -> Path:
    root = (dbt_artifacts_dir()).resolve()
    project = (root / relative).resolve()
    if root not in project.parents or not (project / "dbt_project.yml").is_file():
        raise Failure(description=f"no dbt project at {relative} under the data directory's dbt/ folder")
    return project


def _model_results(run_results: dict) -> list[dict]:
    models = []
    for r in run_results.get("results", []):
        uid = str(r.get("unique_id", ""))
        timing = {t.get("name"): t for t in r.get("timing", [])}
        execute = timing.get("execute", {})
        adapter = r.get("adapter_response") or {}
        models.append(
            {
                "node": uid,
                "kind": uid.split(".", 1)[0],
                "name": uid.rsplit(".", 1)[-1],
                "status": str(r.get("status")),
                "rows": adapter.get("rows_affected"),
                "seconds": round(float(r.get("execution_time") or 0), 3),
                "started_at": execute.get("started_at"),
                "completed_at": execute.get("completed_at"),
                "failures": r.get("failures"),
                "message": r.get("message"),
            }
        )
    return models


@op(
    ins={"loaded": In(list)},
    out=Out(dict, description="per node results of dbt build"),
    description="Runs `dbt build` on the workspace's dbt project through dagster-dbt and reports "
    "every model's and test's status, rows affected and timing from run_results.json.",
)
def dbt_build(context: OpExecutionContext, config: SourcesConfig, loaded: list):
    if not config.dbt_project:
        context.log.info("the pipeline builds no models")
        yield Output({"models": []}, metadata={"models": MetadataValue.json([]), "skipped": True})
        return
    pipeline_job = json.loads(config.job)
    project = _project_dir(config.dbt_project)
    work = Path(tempfile.mkdtemp(prefix=f"dlx-dbt-{context.run_id[:8]}-"))
    target_path = dbt_artifacts_dir() / "target" / f"{context.run_id[:8]}-{context.op.name}"
    try:
        env = _warehouse_profile(pipeline_job, work)
        os.environ.update(env)
        dbt = DbtCliResource(
            project_dir=str(project),
            profiles_dir=str(work),
            profile="datalinx",
            target="warehouse",
            dbt_executable=dbt_executable(),
        )
        invocation = dbt.cli(["build"], target_path=target_path, raise_on_error=False)
        for event in invocation.stream_raw_events():
            info = event.raw_event.get("info", {})
            message = info.get("msg")
            if message and info.get("level") in ("info", "warn", "error"):
                level = info.get("level")
                (context.log.error if level == "error" else context.log.warning if level == "warn" else context.log.info)(
                    message
                )
        try:
            run_results = invocation.get_artifact("run_results.json")
        except Exception:  # no run_results.json: dbt stopped before running any node
            run_results = {}
        models = _model_results(run_results)
        failed = [m for m in models if m["status"] in ("error", "fail", "runtime error")]
        if failed or not invocation.is_successful():
            first = failed[0] if failed else None
            description = (
                f"dbt build failed: {first['kind']} {first['name']}: {first['message']}"
                if first
                else f"dbt build failed: {invocation.get_error()}"
            )
            raise Failure(
                description=description,
                metadata={"code": "DBT_BUILD_FAILED", "message": description, "models": MetadataValue.json(models)},
            )
        built = [m for m in models if m["kind"] == "model"]
        context.log.info(f"dbt build: {len(built)} model(s), {len(models) - len(built)} other node(s)")
        yield Output({"models": models}, metadata={"models": MetadataValue.json(models)})
    finally:
        for key in ("DLX_WH_PASSWORD",):
            os.environ.pop(key, None)
        shutil.rmtree(work, ignore_errors=True)


@job(
    description="One run of a Datalinx pipeline: a `load` step per source (TypeScript sync through "
    "Dagster Pipes), then `dbt build` of the workspace's dbt project.",
    executor_def=in_process_executor,
    tags={"datalinx/kind": "pipeline"},
)
def pipeline_run():
    loaded = sources().map(load).collect()
    dbt_build(loaded)
