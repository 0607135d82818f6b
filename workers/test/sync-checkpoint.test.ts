import {
  describe as describePosition,
  keysetContinuation,
  keysetResumable,
  recordMark,
  recordResumable,
  sameKeys,
  stateOf,
  type State,
} from '../src/sync/checkpoint';
import { rowGuard, withDestinationLimits } from '../src/sync/quota';
import { QuotaExceededError } from '@datalinx/common';
import type { SourceSyncJobV1 } from '@datalinx/contracts';

const state = (s: Partial<State> = {}): State => ({
  cursor: ['2024-01-02', '7'],
  keys: ['updated_at', 'id'],
  rows: 70,
  completed: false,
  runId: 'run-a',
  records: null,
  ...s,
});
const records = { since: '3', consumed: 10, nullCursor: 1, nullKey: 0, notNewer: 2, superseded: 0 };

/** Where an incremental run starts: its own checkpoint (a redelivery), the table's latest, or the beginning. */
describe('checkpoint state', () => {
  it('reads a _dlx_sync_state row', () => {
    expect(stateOf(undefined)).toBeNull();
    expect(stateOf({ keys: ['c'], cursor_values: ['5'], rows: '12', completed: true, run_id: 'r', progress: null })).toEqual({
      keys: ['c'],
      cursor: ['5'],
      rows: 12,
      completed: true,
      runId: 'r',
      records: null,
    });
  });

  it('keyset: a redelivery resumes its own keyset checkpoint over the same keys, nothing else', () => {
    const keys = ['updated_at', 'id'];
    expect(keysetResumable(state(), keys)).toEqual(state());
    expect(keysetResumable(null, keys)).toBeNull();
    expect(keysetResumable(state({ keys: ['updated_at', 'other'] }), keys)).toBeNull();
    expect(keysetResumable(state({ records }), keys)).toBeNull();
  });

  it('keyset: a new run continues after the latest checkpoint over the same keys, counting its own rows from 0', () => {
    const keys = ['updated_at', 'id'];
    expect(keysetContinuation(state({ completed: true }), keys)).toEqual(state({ rows: 0, completed: false }));
    expect(keysetContinuation(state(), ['updated_at'])).toBeNull();
    expect(keysetContinuation(null, keys)).toBeNull();
  });

  it('records: a redelivery resumes its own record checkpoint over the same cursor; a new run loads above the latest completed mark', () => {
    const mine = state({ keys: ['seen', 'k'], cursor: ['9'], records });
    expect(recordResumable(mine, 'seen')).toBe(mine);
    expect(recordResumable(mine, 'other')).toBeNull();
    expect(recordResumable(state(), 'updated_at')).toBeNull();
    expect(recordMark(state({ keys: ['seen', 'k'], cursor: ['9'], records, completed: true }), 'seen')).toBe('9');
    expect(recordMark(state({ keys: ['seen', 'k'], cursor: [], records, completed: true }), 'seen')).toBeNull();
    expect(recordMark(state({ keys: ['seen'], cursor: ['9'] }), 'other')).toBeNull();
    expect(recordMark(null, 'seen')).toBeNull();
  });

  it('compares keys in order and describes positions', () => {
    expect(sameKeys(['a', 'b'], ['a', 'b'])).toBe(true);
    expect(sameKeys(['a', 'b'], ['b', 'a'])).toBe(false);
    expect(sameKeys(['a'], ['a', 'b'])).toBe(false);
    expect(describePosition(['updated_at', 'id'], ['2024-01-02', null])).toBe('updated_at=2024-01-02, id=null');
  });
});

describe('run quotas', () => {
  it('the row limit counts the rows already loaded', () => {
    expect(() => rowGuard(100, 60)(40)).not.toThrow();
    expect(() => rowGuard(100, 60)(41)).toThrow(QuotaExceededError);
    expect(() => rowGuard(undefined, 1e9)(1e9)).not.toThrow();
  });

  it("an EXTERNAL destination drops the storage limit (the customer's database), keeps the row limit", () => {
    const external = { schema: 'sales', external: { connectionId: '00000000-0000-4000-8000-000000000001', config: {}, secrets: null } };
    const job = (destination: object) => ({ limits: { maxRows: 5, maxStorageBytes: 10 }, payload: { destination } }) as unknown as SourceSyncJobV1;
    expect(withDestinationLimits(job(external)).limits).toEqual({ maxRows: 5 });
    expect(withDestinationLimits(job({ schema: 'ws_000000000000', role: 'dlx_ws_000000000000' })).limits).toEqual({ maxRows: 5, maxStorageBytes: 10 });
  });
});
