import { graphql } from '../gql/__generated__';

/**
 * Every GraphQL document of the web app, typed by codegen from the committed supergraph
 * (`npm run codegen` regenerates `gql/__generated__`). One query per page view: the shell's query
 * is cached across pages, each page asks for what it shows in one request.
 */

// ── Account ────────────────────────────────────────────────────────────────────────────────────

export const SignUpDocument = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      ok
      errors {
        code
        field
        message
      }
    }
  }
`);

export const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      refreshToken
      mfaRequired
      mfaEnrollmentRequired
      passwordChangeRequired
      challengeToken
      retryAfterSeconds
      errors {
        code
        field
        message
      }
    }
  }
`);

export const CompleteMfaLoginDocument = graphql(`
  mutation CompleteMfaLogin($challengeToken: String!, $code: String!) {
    completeMfaLogin(challengeToken: $challengeToken, code: $code) {
      refreshToken
      retryAfterSeconds
      errors {
        code
        field
        message
      }
    }
  }
`);

// ── Shell ──────────────────────────────────────────────────────────────────────────────────────

export const ShellDocument = graphql(`
  query Shell {
    me {
      kind
      user {
        id
        email
        displayName
        orgRole
        workspaceGrants {
          workspaceId
          role
        }
      }
      organization {
        id
        name
        slug
      }
    }
    workspaces(first: 100, archived: false) {
      nodes {
        id
        name
        slug
        environment
      }
    }
  }
`);

// ── Workspaces ─────────────────────────────────────────────────────────────────────────────────

export const WorkspacesDocument = graphql(`
  query Workspaces {
    workspaces(first: 100) {
      nodes {
        id
        name
        slug
        environment
        description
        archivedAt
        createdAt
      }
      pageInfo {
        hasNextPage
      }
    }
  }
`);

export const CreateWorkspaceDocument = graphql(`
  mutation CreateWorkspace($input: CreateWorkspaceInput!) {
    createWorkspace(input: $input) {
      workspace {
        id
        name
        slug
        environment
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const UpdateWorkspaceDocument = graphql(`
  mutation UpdateWorkspace($id: ID!, $input: UpdateWorkspaceInput!) {
    updateWorkspace(id: $id, input: $input) {
      workspace {
        id
        name
        description
        environment
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

// ── Home ───────────────────────────────────────────────────────────────────────────────────────

export const WorkspaceHomeDocument = graphql(`
  query WorkspaceHome($id: ID!) {
    workspace(id: $id) {
      id
      name
      environment
      description
      connections {
        id
        name
        type
        status
      }
      quotas {
        storageBytes {
          quota
          limit
          used
        }
        concurrentRuns {
          quota
          limit
          used
        }
        rowsPerRun {
          quota
          limit
          used
        }
        apiRequestsPerMinute {
          quota
          limit
          used
        }
      }
    }
    runs(workspaceId: $id, first: 8) {
      nodes {
        id
        kind
        state
        summary
        createdAt
        finishedAt
      }
    }
  }
`);

// ── Connect ────────────────────────────────────────────────────────────────────────────────────

export const ConnectionsDocument = graphql(`
  query Connections($id: ID!) {
    workspace(id: $id) {
      id
      name
      connections {
        id
        name
        kind
        type
        endpoint
        status
        lastTestedAt
        lastError
        createdAt
      }
    }
  }
`);

export const CreateConnectionDocument = graphql(`
  mutation CreateConnection($input: CreateConnectionInput!) {
    createConnection(input: $input) {
      connection {
        id
        name
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const DeleteConnectionDocument = graphql(`
  mutation DeleteConnection($id: ID!) {
    deleteConnection(id: $id) {
      deletedId
      errors {
        code
        field
        message
      }
    }
  }
`);

export const TestConnectionDocument = graphql(`
  mutation TestConnection($id: ID!) {
    testConnection(id: $id) {
      runId
      connection {
        id
        status
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const ConnectionDetailDocument = graphql(`
  query ConnectionDetail($id: ID!) {
    connection(id: $id) {
      id
      name
      kind
      type
      endpoint
      status
      secretSet
      lastTestedAt
      lastError
      createdAt
      workspace {
        id
        name
      }
      config {
        __typename
        ... on PostgresConnectionConfig {
          host
          port
          database
          user
          sslMode
          schema
        }
        ... on MysqlConnectionConfig {
          host
          port
          database
          user
        }
      }
      lastTestRun {
        id
        state
        error {
          code
          message
        }
        createdAt
        startedAt
        finishedAt
        steps {
          seq
          name
          status
          message
          durationMs
        }
      }
    }
  }
`);

// ── Data Sources ───────────────────────────────────────────────────────────────────────────────

export const SourceSnapshotDocument = graphql(`
  query SourceSnapshot($connectionId: ID!) {
    connection(id: $connectionId) {
      id
      name
      type
      endpoint
      status
      workspace {
        id
        name
      }
    }
    sourceSnapshots(connectionId: $connectionId, first: 1) {
      nodes {
        id
        version
        createdAt
        tableCount
        tables {
          id
          schemaName
          tableName
          kind
          rowEstimate
          rowEstimateSource
          rowEstimateNote
          primaryKey
          foreignKeys {
            name
            columns
            referencedTable
            referencedColumns
          }
          columns {
            name
            type
            nullable
            ordinal
            profile {
              sampled
              nullCount
              distinctEstimate
              min
              max
              canonicalType
              topValues {
                value
                count
              }
            }
          }
        }
      }
    }
  }
`);

export const DiscoverConnectionDocument = graphql(`
  mutation DiscoverConnection($id: ID!) {
    discoverConnection(id: $id) {
      runId
      errors {
        code
        field
        message
      }
    }
  }
`);

export const RunProgressDocument = graphql(`
  query RunProgress($id: ID!) {
    run(id: $id) {
      id
      kind
      state
      summary
      error {
        code
        message
      }
      steps {
        seq
        name
        status
        message
        durationMs
      }
    }
  }
`);

// ── Pipelines & Runs ───────────────────────────────────────────────────────────────────────────

export const PipelinesDocument = graphql(`
  query Pipelines($workspaceId: ID!) {
    workspace(id: $workspaceId) {
      id
      name
      connections {
        id
        name
        kind
        status
      }
    }
    pipelines(workspaceId: $workspaceId, first: 100) {
      nodes {
        id
        name
        description
        schedule
        timeZone
        enabled
        nextRunAt
        definition {
          sources {
            connectionId
            connection {
              name
            }
          }
        }
      }
    }
    runs(workspaceId: $workspaceId, first: 20) {
      nodes {
        id
        kind
        subjectId
        state
        summary
        createdAt
        finishedAt
      }
    }
  }
`);

export const CreatePipelineDocument = graphql(`
  mutation CreatePipeline($input: CreatePipelineInput!) {
    createPipeline(input: $input) {
      pipeline {
        id
        name
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const RunPipelineDocument = graphql(`
  mutation RunPipeline($id: ID!) {
    runPipeline(id: $id) {
      runId
      errors {
        code
        field
        message
      }
    }
  }
`);

export const RunDocument = graphql(`
  query Run($id: ID!) {
    run(id: $id) {
      id
      workspaceId
      kind
      subjectId
      state
      attempts
      summary
      createdAt
      startedAt
      finishedAt
      error {
        code
        message
      }
      steps {
        seq
        name
        status
        message
        durationMs
        attempt
      }
    }
  }
`);
