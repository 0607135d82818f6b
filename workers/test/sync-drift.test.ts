import { decideDrift } from '../src/sync/drift';

const col = (name: string, type = 'text') => ({ name, type });
const cols = [col('id', 'integer'), col('name'), col('email')];

/** The schema drift policy, table-style: what each policy decides for each shape of destination. */
describe('schema drift decisions', () => {
  const cases: [string, Parameters<typeof decideDrift>[0], 'PROPAGATE' | 'BLOCK' | 'IGNORE', 'FULL' | 'INCREMENTAL', ReturnType<typeof decideDrift>][] = [
    [
      'no table yet (any policy)',
      null,
      'BLOCK',
      'FULL',
      { blocked: false, selected: cols, add: [], message: 'no destination table yet: raw_t created with 3 column(s)' },
    ],
    [
      'same columns',
      ['id', 'name', 'email', '_dlx_run_id', '_dlx_synced_at'],
      'BLOCK',
      'INCREMENTAL',
      { blocked: false, selected: cols, add: [], message: 'no new columns' },
    ],
    [
      'a column gone from the source, FULL',
      ['id', 'name', 'email', 'phone', '_dlx_run_id'],
      'PROPAGATE',
      'FULL',
      { blocked: false, selected: cols, add: [], message: 'no new columns; column(s) no longer in the source: phone (dropped by the refresh)' },
    ],
    [
      'a new column, BLOCK',
      ['id', 'name'],
      'BLOCK',
      'FULL',
      {
        blocked: true,
        message:
          "new source column(s) email in public.t: the pipeline's schema drift policy is BLOCK, so nothing was loaded. Review the columns, then change the policy or the mapping.",
      },
    ],
    [
      'a new column, IGNORE',
      ['id', 'name'],
      'IGNORE',
      'INCREMENTAL',
      { blocked: false, selected: [col('id', 'integer'), col('name')], add: [], message: 'new source column(s) email ignored (policy IGNORE)' },
    ],
    [
      'a new column, PROPAGATE, INCREMENTAL: added to the table',
      ['id', 'name'],
      'PROPAGATE',
      'INCREMENTAL',
      { blocked: false, selected: cols, add: [col('email')], message: 'new source column(s) email propagated (policy PROPAGATE)' },
    ],
    [
      'a new column, PROPAGATE, FULL: the refresh recreates the table',
      ['id', 'name'],
      'PROPAGATE',
      'FULL',
      { blocked: false, selected: cols, add: [], message: 'new source column(s) email propagated (policy PROPAGATE)' },
    ],
    [
      'new and gone, INCREMENTAL',
      ['id', 'name', 'phone'],
      'PROPAGATE',
      'INCREMENTAL',
      {
        blocked: false,
        selected: cols,
        add: [col('email')],
        message: 'new source column(s) email propagated (policy PROPAGATE); column(s) no longer in the source: phone (left NULL for new rows)',
      },
    ],
  ];
  it.each(cases)('%s', (_name, existing, policy, mode, expected) => {
    expect(decideDrift(existing, cols, policy, mode, 'raw_t', 'public.t')).toEqual(expected);
  });
});
