/**
 * The workers' only contact with Dagster: its GraphQL API on the webserver (dagster-webserver
 * 1.13.27, pinned in workers/python/requirements.txt). Dagster warns that this API changes
 * between minor versions, so every query and mutation the workers send is in this module.
 */

/** The code location (workers/python/workspace.yaml) and the repository `Definitions` make. */
export const DAGSTER_LOCATION = 'datalinx';
export const DAGSTER_REPOSITORY = '__repository__';

export type DagsterRunStatus = 'QUEUED' | 'NOT_STARTED' | 'MANAGED' | 'STARTING' | 'STARTED' | 'SUSPENDED' | 'SUCCESS' | 'FAILURE' | 'CANCELING' | 'CANCELED';
export const DAGSTER_TERMINAL: readonly DagsterRunStatus[] = ['SUCCESS', 'FAILURE', 'CANCELED'];

export interface DagsterRun {
  runId: string;
  status: DagsterRunStatus;
  tags: Record<string, string>;
  parentRunId: string | null;
  rootRunId: string | null;
  startTime: number | null;
  endTime: number | null;
}

/** One metadata entry of a step's output or failure, by label. */
export type DagsterMetadata = Record<string, unknown>;

/** The events of a run's log the workers read (`logsForRun`); others keep only their type and message. */
export interface DagsterEvent {
  type: string;
  message: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  level: string;
  stepKey: string | null;
  /** ExecutionStepOutputEvent: its metadata; ExecutionStepFailureEvent: its failure metadata. */
  metadata?: DagsterMetadata;
  /** ExecutionStepFailureEvent, RunFailureEvent: the error's message. */
  error?: string;
}

export class DagsterError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const RUN_FIELDS = 'runId status parentRunId rootRunId startTime endTime tags { key value }';

const METADATA = `label __typename
  ... on JsonMetadataEntry { jsonString }
  ... on IntMetadataEntry { intValue intRepr }
  ... on FloatMetadataEntry { floatValue }
  ... on TextMetadataEntry { text }
  ... on BoolMetadataEntry { boolValue }`;

const LAUNCH_RESULT = `__typename
  ... on LaunchRunSuccess { run { ${RUN_FIELDS} } }
  ... on RunConfigValidationInvalid { errors { message } }
  ... on Error { message }`;

const LAUNCH_RUN = `mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) { ${LAUNCH_RESULT} }
}`;

const LAUNCH_REEXECUTION = `mutation LaunchRunReexecution($reexecutionParams: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $reexecutionParams) { ${LAUNCH_RESULT} }
}`;

const RUN_OR_ERROR = `query RunOrError($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { ${RUN_FIELDS} } ... on Error { message } }
}`;

const RUNS_BY_TAG = `query RunsByTag($filter: RunsFilter!) {
  runsOrError(filter: $filter) { __typename ... on Runs { results { ${RUN_FIELDS} } } ... on Error { message } }
}`;

const LOGS_FOR_RUN = `query LogsForRun($runId: ID!, $afterCursor: String, $limit: Int) {
  logsForRun(runId: $runId, afterCursor: $afterCursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message timestamp level stepKey }
        ... on ExecutionStepOutputEvent { metadataEntries { ${METADATA} } }
        ... on ExecutionStepFailureEvent { error { message } failureMetadata { metadataEntries { ${METADATA} } } }
        ... on RunFailureEvent { error { message } }
      }
    }
    ... on Error { message }
  }
}`;

const TERMINATE_RUN = `mutation TerminateRun($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunSuccess { run { ${RUN_FIELDS} } }
    ... on TerminateRunFailure { message run { ${RUN_FIELDS} } }
    ... on Error { message }
  }
}`;

interface RawRun {
  runId: string;
  status: DagsterRunStatus;
  parentRunId: string | null;
  rootRunId: string | null;
  startTime: number | null;
  endTime: number | null;
  tags: { key: string; value: string }[];
}

type RawMetadata = { label: string; __typename: string } & Partial<{
  jsonString: string;
  intValue: number | null;
  intRepr: string;
  floatValue: number | null;
  text: string;
  boolValue: boolean | null;
}>;

interface RawEvent {
  __typename: string;
  message?: string;
  timestamp?: string;
  level?: string;
  stepKey?: string | null;
  metadataEntries?: RawMetadata[];
  failureMetadata?: { metadataEntries: RawMetadata[] } | null;
  error?: { message: string } | null;
}

const toRun = (r: RawRun): DagsterRun => ({
  runId: r.runId,
  status: r.status,
  parentRunId: r.parentRunId,
  rootRunId: r.rootRunId,
  startTime: r.startTime,
  endTime: r.endTime,
  tags: Object.fromEntries(r.tags.map((t) => [t.key, t.value])),
});

function metadataOf(entries: RawMetadata[] | undefined): DagsterMetadata | undefined {
  if (!entries?.length) return undefined;
  const out: DagsterMetadata = {};
  for (const e of entries) {
    if (e.jsonString !== undefined) {
      try {
        out[e.label] = JSON.parse(e.jsonString);
      } catch {
        out[e.label] = e.jsonString;
      }
    } else if (e.intValue !== undefined) out[e.label] = e.intValue ?? (e.intRepr !== undefined ? Number(e.intRepr) : null);
    else if (e.floatValue !== undefined) out[e.label] = e.floatValue;
    else if (e.text !== undefined) out[e.label] = e.text;
    else if (e.boolValue !== undefined) out[e.label] = e.boolValue;
  }
  return out;
}

const toEvent = (e: RawEvent): DagsterEvent => ({
  type: e.__typename,
  message: e.message ?? '',
  timestamp: Number(e.timestamp ?? 0),
  level: e.level ?? 'INFO',
  stepKey: e.stepKey ?? null,
  ...(e.metadataEntries || e.failureMetadata ? { metadata: metadataOf(e.metadataEntries ?? e.failureMetadata?.metadataEntries) } : {}),
  ...(e.error ? { error: e.error.message } : {}),
});

export interface LaunchOptions {
  jobName: string;
  runConfig: Record<string, unknown>;
  tags: Record<string, string>;
}

/** A Dagster webserver's GraphQL API (`<url>/graphql`), e.g. http://127.0.0.1:3070. */
export class DagsterClient {
  constructor(
    readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** The run's page in the Dagster UI. */
  runUrl(dagsterRunId: string): string {
    return `${this.url.replace(/\/$/, '')}/runs/${dagsterRunId}`;
  }

  private async request<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.url.replace(/\/$/, '')}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new DagsterError(`Dagster at ${this.url} did not answer: ${(err as Error).message}`, 'DAGSTER_UNAVAILABLE');
    }
    const body = (await res.json().catch(() => null)) as { data?: T; errors?: { message: string }[] } | null;
    if (!res.ok || !body || body.errors?.length || !body.data) {
      const why = body?.errors?.map((e) => e.message).join('; ') ?? `HTTP ${res.status}`;
      throw new DagsterError(`Dagster's GraphQL API refused the request: ${why}`, res.status >= 500 || !body ? 'DAGSTER_UNAVAILABLE' : 'DAGSTER_API');
    }
    return body.data;
  }

  private launched(r: { __typename: string; run?: RawRun; errors?: { message: string }[]; message?: string }): DagsterRun {
    if (r.__typename === 'LaunchRunSuccess' && r.run) return toRun(r.run);
    const why = r.errors?.map((e) => e.message).join('; ') ?? r.message ?? r.__typename;
    throw new DagsterError(
      `Dagster did not launch the run (${r.__typename}): ${why}`,
      r.__typename === 'PythonError' ? 'DAGSTER_UNAVAILABLE' : 'DAGSTER_LAUNCH',
    );
  }

  /** `launchRun` of a job of the Datalinx code location. */
  async launchRun(o: LaunchOptions): Promise<DagsterRun> {
    const data = await this.request<{ launchRun: Parameters<DagsterClient['launched']>[0] }>(LAUNCH_RUN, {
      executionParams: {
        selector: { repositoryLocationName: DAGSTER_LOCATION, repositoryName: DAGSTER_REPOSITORY, jobName: o.jobName },
        runConfigData: o.runConfig,
        executionMetadata: { tags: Object.entries(o.tags).map(([key, value]) => ({ key, value })) },
      },
    });
    return this.launched(data.launchRun);
  }

  /** `launchRunReexecution` of a finished run: FROM_FAILURE re-runs its failed and not-run steps (the parent's outputs are reused). */
  async reexecute(parentRunId: string, strategy: 'FROM_FAILURE' | 'ALL_STEPS', extraTags: Record<string, string> = {}): Promise<DagsterRun> {
    const data = await this.request<{ launchRunReexecution: Parameters<DagsterClient['launched']>[0] }>(LAUNCH_REEXECUTION, {
      reexecutionParams: { parentRunId, strategy, extraTags: Object.entries(extraTags).map(([key, value]) => ({ key, value })) },
    });
    return this.launched(data.launchRunReexecution);
  }

  /** `runOrError`: the run, or null when Dagster has no run of that id. */
  async run(dagsterRunId: string): Promise<DagsterRun | null> {
    const data = await this.request<{ runOrError: RawRun & { __typename: string; message?: string } }>(RUN_OR_ERROR, { runId: dagsterRunId });
    if (data.runOrError.__typename === 'Run') return toRun(data.runOrError);
    if (data.runOrError.__typename === 'RunNotFoundError') return null;
    throw new DagsterError(`Dagster could not read run ${dagsterRunId}: ${data.runOrError.message}`, 'DAGSTER_API');
  }

  /** The runs carrying a tag, newest first (`runsOrError` filtered by tags). */
  async runsTagged(key: string, value: string): Promise<DagsterRun[]> {
    const data = await this.request<{ runsOrError: { __typename: string; results?: RawRun[]; message?: string } }>(RUNS_BY_TAG, {
      filter: { tags: [{ key, value }] },
    });
    if (!data.runsOrError.results) throw new DagsterError(`Dagster could not list runs: ${data.runsOrError.message}`, 'DAGSTER_API');
    return data.runsOrError.results.map(toRun);
  }

  /** `logsForRun` after a cursor (null: from the start); `cursor` continues after the last event returned. */
  async logsForRun(dagsterRunId: string, afterCursor: string | null, limit = 500): Promise<{ events: DagsterEvent[]; cursor: string; hasMore: boolean }> {
    const data = await this.request<{
      logsForRun: { __typename: string; cursor?: string; hasMore?: boolean; events?: RawEvent[]; message?: string };
    }>(LOGS_FOR_RUN, { runId: dagsterRunId, afterCursor, limit });
    const r = data.logsForRun;
    if (r.__typename !== 'EventConnection') throw new DagsterError(`Dagster could not read the events of run ${dagsterRunId}: ${r.message}`, 'DAGSTER_API');
    return { events: (r.events ?? []).map(toEvent), cursor: r.cursor ?? afterCursor ?? '', hasMore: Boolean(r.hasMore) };
  }

  /** `terminateRun`: a queued run is canceled at once, a started one goes CANCELING, then CANCELED. */
  async terminateRun(dagsterRunId: string): Promise<DagsterRun> {
    const data = await this.request<{ terminateRun: { __typename: string; run?: RawRun; message?: string } }>(TERMINATE_RUN, { runId: dagsterRunId });
    const r = data.terminateRun;
    if (r.__typename === 'TerminateRunSuccess' && r.run) return toRun(r.run);
    throw new DagsterError(`Dagster did not terminate run ${dagsterRunId}: ${r.message ?? r.__typename}`, 'DAGSTER_TERMINATE');
  }
}
