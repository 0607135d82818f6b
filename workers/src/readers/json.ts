/**
 * JSON and JSON Lines reader. Records are the objects of a top-level array, of an object's first
 * array property ({"data": [...]}), or one per line (JSON Lines); both are streamed (a JSON
 * document is scanned incrementally, never parsed whole). Nested objects are flattened into
 * columns (`a__b`), arrays into child tables (`<table>__<field>`) whose rows carry
 * `_dlx_parent_id` (the parent row's `id` when every record has a distinct one, else its
 * `_dlx_ordinal`: its 1-based position in the file) and `_dlx_index` (the position in the array);
 * arrays of scalars give child rows with a `value` column.
 */
import { checkFile, decodedText, detectEncoding, type DetectedEncoding, type FileEncoding } from './file-source';
import {
  checkAborted,
  MalformedInputError,
  ProblemLog,
  ReaderError,
  type ColumnShape,
  type ColumnType,
  type OnMalformed,
  type Problem,
  type ReadOptions,
  type Row,
  type SourceReader,
  type TableShape,
  type Value,
} from './types';
import { classifyJson, convertJson, widen } from './values';

export interface JsonReaderOptions {
  path: string;
  table: string;
  format: 'JSON' | 'JSONL';
  encoding?: FileEncoding;
  onMalformed?: OnMalformed;
  maxBytes?: number;
  /** Levels of nested objects flattened into columns; deeper ones are jsonb columns (default 5). */
  maxDepth?: number;
  onProblem?: (p: Problem) => void;
}

/** The largest single record (a JSON Lines line or an element of the records array). */
export const MAX_RECORD_CHARS = 16 * 1024 * 1024;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

type RawRecord = { ordinal: number; line: number; text: string };

// ------------------------------------------------------------------ record sources

/** One record per non-blank line. */
async function* jsonLines(table: string, chunks: AsyncIterable<string>, signal?: AbortSignal): AsyncGenerator<RawRecord> {
  let carry = '';
  let line = 0;
  let ordinal = 0;
  const emit = function* (text: string): Generator<RawRecord> {
    line++;
    if (text.trim() !== '') yield { ordinal: ++ordinal, line, text: text.replace(/\r$/, '') };
  };
  for await (const chunk of chunks) {
    checkAborted(signal);
    const parts = (carry + chunk).split('\n');
    carry = parts.pop()!;
    if (carry.length > MAX_RECORD_CHARS)
      throw new MalformedInputError('JSONL_MALFORMED', table, line + 1, `a line longer than ${MAX_RECORD_CHARS} characters`, carry.slice(0, 200));
    for (const p of parts) yield* emit(p);
  }
  if (carry !== '') yield* emit(carry);
}

const WS = new Set([' ', '\t', '\n', '\r']);

/**
 * The elements of the records array of a JSON document, scanned incrementally: only the element
 * being read is held in memory. Structural errors (brackets that do not match, an unterminated
 * string) cannot be recovered from and throw; a bad element is returned for JSON.parse to reject.
 */
async function* jsonArrayElements(table: string, chunks: AsyncIterable<string>, signal?: AbortSignal): AsyncGenerator<RawRecord> {
  const stack: string[] = [];
  let inStr = false;
  let esc = false;
  let line = 1;
  let arrayDepth = -1;
  let capturing = false;
  let parts: string[] = [];
  let partStart = 0;
  let size = 0;
  let elemLine = 0;
  let ordinal = 0;
  let done = false;
  const fatal = (reason: string) => new MalformedInputError('JSON_MALFORMED', table, line, reason);
  for await (const chunk of chunks) {
    checkAborted(signal);
    if (done) break;
    if (capturing) partStart = 0;
    const out: RawRecord[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === '\n') line++;
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
        continue;
      }
      const depth = stack.length;
      if (arrayDepth > 0 && depth === arrayDepth && !capturing && !WS.has(c) && c !== ',' && c !== ']') {
        capturing = true;
        parts = [];
        partStart = i;
        size = 0;
        elemLine = line;
      }
      if (c === '"') {
        inStr = true;
      } else if (c === '{' || c === '[') {
        if (c === '[' && arrayDepth < 0 && (depth === 0 || (depth === 1 && stack[0] === '{'))) arrayDepth = depth + 1;
        stack.push(c);
      } else if (c === '}' || c === ']') {
        if (capturing && depth === arrayDepth) {
          parts.push(chunk.slice(partStart, i));
          out.push({ ordinal: ++ordinal, line: elemLine, text: parts.join('') });
          capturing = false;
        }
        const open = stack.pop();
        if (open !== (c === '}' ? '{' : '[')) throw fatal(`unexpected "${c}"`);
        if (arrayDepth > 0 && stack.length < arrayDepth) {
          done = true;
          break;
        }
      } else if (c === ',' && capturing && depth === arrayDepth) {
        parts.push(chunk.slice(partStart, i));
        out.push({ ordinal: ++ordinal, line: elemLine, text: parts.join('') });
        capturing = false;
      } else if (depth === 0 && !WS.has(c) && c !== '\uFEFF') {
        throw new MalformedInputError('JSON_SHAPE', table, line, 'the document is not a JSON array or object');
      }
    }
    if (capturing && !done) {
      parts.push(chunk.slice(partStart));
      size += chunk.length - partStart;
      if (size > MAX_RECORD_CHARS) throw fatal(`a record longer than ${MAX_RECORD_CHARS} characters`);
    }
    yield* out;
  }
  if (!done) {
    if (arrayDepth < 0)
      throw new MalformedInputError(
        'JSON_SHAPE',
        table,
        line,
        'no array of records: expected an array of objects, or an object holding one (e.g. {"data": [ … ]})',
      );
    throw fatal(inStr ? 'the file ends inside a string' : 'the file ends before the records array is closed');
  }
}

// ------------------------------------------------------------------ flattening plan

interface ColStat {
  type: ColumnType | null;
  nonNull: number;
}

interface TableNode {
  name: string;
  /** Where the array is in the parent row's object. */
  keys: string[];
  parent?: TableNode;
  rows: number;
  columns: Map<string, ColStat>;
  children: Map<string, TableNode>;
}

const newNode = (name: string, keys: string[], parent?: TableNode): TableNode => ({ name, keys, parent, rows: 0, columns: new Map(), children: new Map() });

export class JsonReader implements SourceReader {
  private readonly log: ProblemLog;
  private readonly maxDepth: number;
  private enc?: DetectedEncoding;
  private root?: TableNode;
  private shapes?: TableShape[];
  /** The top table's key: `id` when every record has a distinct scalar one, else `_dlx_ordinal`. */
  private rootKey = '_dlx_ordinal';

  constructor(private readonly opts: JsonReaderOptions) {
    this.log = new ProblemLog(opts.onMalformed ?? 'SKIP_AND_REPORT', opts.format === 'JSONL' ? 'JSONL_MALFORMED' : 'JSON_MALFORMED', opts.onProblem);
    this.maxDepth = opts.maxDepth ?? 5;
  }

  get problems(): Problem[] {
    return this.log.problems;
  }
  get problemCount(): number {
    return this.log.count;
  }

  private async *records(signal?: AbortSignal, report = false): AsyncGenerator<{ ordinal: number; line: number; text: string; value: Json }> {
    const { table } = this.opts;
    const text = decodedText(this.opts.path, this.enc!);
    const raw = this.opts.format === 'JSONL' ? jsonLines(table, text, signal) : jsonArrayElements(table, text, signal);
    try {
      for await (const r of raw) {
        let v: unknown;
        try {
          v = JSON.parse(r.text);
        } catch (err) {
          if (report) this.log.report(table, r.line, `not valid JSON (${(err as Error).message})`, r.text);
          continue;
        }
        if (!isObj(v)) {
          if (report) this.log.report(table, r.line, `${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}, not a JSON object`, r.text);
          continue;
        }
        yield { ...r, value: v };
      }
    } catch (err) {
      if (err instanceof MalformedInputError && report && !this.log.problems.some((p) => p.line === err.line && p.reason === err.reason)) {
        // Unrecoverable: counted with the others, then the read stops whatever the mode.
        this.log.count++;
        if (this.log.problems.length < 1000) this.log.problems.push({ table, line: err.line, reason: err.reason, raw: err.raw });
      }
      throw err;
    }
  }

  private observeValue(node: TableNode, column: string, v: unknown): void {
    let c = node.columns.get(column);
    if (!c) node.columns.set(column, (c = { type: null, nonNull: 0 }));
    const t = classifyJson(v);
    if (t !== null) {
      c.type = widen(c.type, t);
      c.nonNull++;
    }
  }

  private observe(node: TableNode, obj: Json, prefix: string[], depth: number): void {
    for (const [k, v] of Object.entries(obj)) {
      const keys = [...prefix, k];
      const path = keys.join('__');
      if (isObj(v) && depth < this.maxDepth) this.observe(node, v, keys, depth + 1);
      else if (Array.isArray(v)) {
        if (v.length === 0 && !node.children.has(path)) continue;
        let child = node.children.get(path);
        if (!child) node.children.set(path, (child = newNode(`${node.name}__${path}`, keys, node)));
        for (const el of v) {
          child.rows++;
          if (isObj(el)) this.observe(child, el, [], 0);
          else this.observeValue(child, 'value', el);
        }
      } else this.observeValue(node, path, v);
    }
  }

  async discover(): Promise<TableShape[]> {
    if (this.shapes) return this.shapes;
    await checkFile(this.opts.path, this.opts.maxBytes);
    this.enc = await detectEncoding(this.opts.path, this.opts.encoding);
    const root = newNode(this.opts.table, []);
    const ids = new Set<string | number>();
    let idsOk = true;
    for await (const r of this.records()) {
      root.rows++;
      this.observe(root, r.value, [], 0);
      const id = r.value.id;
      if (idsOk && (typeof id === 'number' || typeof id === 'string') && ids.size < 1_000_000 && !ids.has(id)) ids.add(id);
      else idsOk = false;
    }
    if (root.rows === 0) throw new ReaderError('FILE_EMPTY', 'The file holds no records.');
    const idCol = root.columns.get('id');
    this.rootKey = idsOk && idCol && idCol.type !== 'jsonb' && idCol.type !== 'boolean' ? 'id' : '_dlx_ordinal';
    this.root = root;
    this.shapes = [];
    this.shapeOf(root, undefined);
    return this.shapes;
  }

  private keyOf(node: TableNode): { name: string; type: ColumnType } {
    if (!node.parent) return this.rootKey === 'id' ? { name: 'id', type: node.columns.get('id')!.type! } : { name: '_dlx_ordinal', type: 'bigint' };
    return { name: '_dlx_id', type: 'text' };
  }

  private shapeOf(node: TableNode, parentKey: { table: string; name: string; type: ColumnType } | undefined): void {
    const columns: ColumnShape[] = [];
    const key = this.keyOf(node);
    if (!node.parent && key.name === '_dlx_ordinal') columns.push({ name: '_dlx_ordinal', type: 'bigint', nullable: false });
    if (parentKey) {
      columns.push({ name: '_dlx_parent_id', type: parentKey.type, nullable: false }, { name: '_dlx_index', type: 'integer', nullable: false });
      if (node.children.size > 0) columns.push({ name: '_dlx_id', type: 'text', nullable: false });
    }
    for (const [name, c] of node.columns) {
      // Only ever null where other records hold an object or array: the flattened columns say it.
      if (c.type === null && (node.children.has(name) || [...node.columns.keys()].some((k) => k.startsWith(`${name}__`)))) continue;
      columns.push({ name, type: c.type ?? 'text', nullable: c.nonNull < node.rows });
    }
    this.shapes!.push({
      name: node.name,
      columns,
      primaryKey: parentKey ? ['_dlx_parent_id', '_dlx_index'] : [key.name],
      ...(parentKey ? { parent: { table: parentKey.table, parentKey: parentKey.name, column: '_dlx_parent_id' } } : {}),
    });
    for (const child of node.children.values()) this.shapeOf(child, { table: node.name, ...key });
  }

  /** The nodes from the root down to `name`. */
  private pathTo(name: string): TableNode[] | undefined {
    const find = (n: TableNode): TableNode[] | undefined => {
      if (n.name === name) return [n];
      for (const c of n.children.values()) {
        const p = find(c);
        if (p) return [n, ...p];
      }
      return undefined;
    };
    return find(this.root!);
  }

  /** Flattens `obj` into `row` by `node`'s columns; a reason when a value does not fit. */
  private fill(node: TableNode, shape: Map<string, ColumnType>, obj: Json, prefix: string[], depth: number, row: Row): string | undefined {
    for (const [k, v] of Object.entries(obj)) {
      const keys = [...prefix, k];
      const path = keys.join('__');
      if (isObj(v) && depth < this.maxDepth) {
        const r = this.fill(node, shape, v, keys, depth + 1, row);
        if (r) return r;
      } else if (Array.isArray(v))
        continue; // child table
      else {
        const type = shape.get(path);
        if (!type) {
          if (v === null) continue;
          return `field "${path}" was not in the file when it was discovered`;
        }
        const conv = convertJson(v, type);
        if (!conv.ok) return `value ${JSON.stringify(v).slice(0, 50)} of "${path}" is not ${type}`;
        row[path] = conv.value;
      }
    }
    return undefined;
  }

  async *read(table: string, options: ReadOptions = {}): AsyncGenerator<Row[]> {
    const shapes = await this.discover();
    const shape = shapes.find((s) => s.name === table);
    const path = this.pathTo(table);
    if (!shape || !path) throw new ReaderError('TABLE_NOT_FOUND', `No table "${table}" in this file.`);
    const target = path[path.length - 1];
    const types = new Map(shape.columns.map((c) => [c.name, c.type]));
    const batchRows = options.batchRows ?? 1000;
    let batch: Row[] = [];
    const empty = () => Object.fromEntries(shape.columns.map((c) => [c.name, null])) as Row;

    for await (const rec of this.records(options.signal, true)) {
      checkAborted(options.signal);
      const out: Row[] = [];
      let problem: string | undefined;
      const rootKey: Value =
        this.rootKey === 'id' ? (convertJson(rec.value.id, types.get('id') ?? this.keyOf(this.root!).type) as { value: Value }).value : String(rec.ordinal);
      // Walk down the path to the target table, element by element.
      const visit = (depth: number, obj: unknown, key: Value, parentKey: Value, index: number): void => {
        if (problem) return;
        const node = path[depth];
        if (node === target) {
          const row = empty();
          if (depth === 0) {
            if (this.rootKey === '_dlx_ordinal') row._dlx_ordinal = String(rec.ordinal);
          } else {
            row._dlx_parent_id = parentKey;
            row._dlx_index = index;
            if ('_dlx_id' in row) row._dlx_id = String(key);
          }
          if (isObj(obj)) problem = this.fill(node, types, obj, [], 0, row);
          else {
            const conv = convertJson(obj, types.get('value') ?? 'jsonb');
            if (!conv.ok) problem = `value ${JSON.stringify(obj).slice(0, 50)} is not ${types.get('value')}`;
            else row.value = conv.value;
          }
          out.push(row);
          return;
        }
        if (!isObj(obj)) return;
        const child = path[depth + 1];
        let arr: unknown = obj;
        for (const k of child.keys) arr = isObj(arr) ? arr[k] : undefined;
        if (!Array.isArray(arr)) return;
        arr.forEach((el, i) => visit(depth + 1, el, `${key}.${i}`, key, i));
      };
      visit(0, rec.value, rootKey, null, 0);
      if (problem) {
        this.log.report(table, rec.line, problem, rec.text);
        continue;
      }
      for (const row of out) {
        batch.push(row);
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }
}
