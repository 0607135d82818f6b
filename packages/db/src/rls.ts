/**
 * The tenant isolation of a table with an `org_id` column (ARCHITECTURE.md §4): row-level security
 * enabled and FORCEd (the owner is bound too) and one policy, `<table>_tenant_isolation`, that
 * lets a session see and write only the rows of the org `withTenant` set in `app.current_org_id`
 * (none when it is unset). For migrations: `for (const s of tenantIsolationSql('workspace', 'x')) await q.query(s)`.
 */
export function tenantIsolationSql(schema: string, table: string): string[] {
  const t = `${schema}.${table}`;
  return [
    `ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY`,
    `ALTER TABLE ${t} FORCE ROW LEVEL SECURITY`,
    `CREATE POLICY ${table}_tenant_isolation ON ${t}
      USING (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)
      WITH CHECK (org_id = nullif(current_setting('app.current_org_id', true), '')::uuid)`,
  ];
}
