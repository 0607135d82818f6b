import { Transform, type TransformCallback } from 'node:stream';

const NL = 0x0a;

/**
 * Passes COPY text-format data through unchanged while counting rows (every row ends with a
 * newline; newlines inside values are escaped as `\n`) and bytes, and keeping the last complete
 * row (the keyset checkpoint of an ordered batch). `onRows` may throw to abort the copy (e.g. the
 * run's row limit): the pipeline is destroyed and the destination transaction rolled back.
 */
export class CopyMeter extends Transform {
  rows = 0;
  bytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  private last: Buffer | null = null;

  constructor(private readonly onRows?: (rows: number, bytes: number) => void) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    let n = 0;
    let first = -1;
    let lastNl = -1;
    for (let i = chunk.indexOf(NL); i !== -1; i = chunk.indexOf(NL, i + 1)) {
      if (first === -1) first = i;
      lastNl = i;
      n++;
    }
    if (n > 0) {
      if (n === 1) {
        this.last = this.tail.length ? Buffer.concat([this.tail, chunk.subarray(0, lastNl)]) : Buffer.from(chunk.subarray(0, lastNl));
      } else {
        const prev = chunk.lastIndexOf(NL, lastNl - 1);
        this.last = Buffer.from(chunk.subarray(prev + 1, lastNl));
      }
      this.tail = Buffer.from(chunk.subarray(lastNl + 1));
      this.rows += n;
    } else {
      this.tail = Buffer.concat([this.tail, chunk]);
    }
    try {
      this.onRows?.(this.rows, this.bytes);
    } catch (err) {
      return cb(err as Error);
    }
    cb(null, chunk);
  }

  /** The fields of the last complete row, decoded from COPY text format (null for `\N`). */
  lastRow(): (string | null)[] | null {
    if (!this.last) return null;
    return this.last.toString('utf8').split('\t').map(decodeCopyField);
  }
}

const ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** One COPY text-format field as the value's text form. */
export function decodeCopyField(raw: string): string | null {
  if (raw === '\\N') return null;
  if (!raw.includes('\\')) return raw;
  return raw.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_m, e: string) => {
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ESCAPES[e] ?? e;
  });
}

const ENCODE: Record<string, string> = { '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

/** A value's text form as one COPY text-format field (the inverse of decodeCopyField; null → `\N`). */
export function encodeCopyField(text: string | null): string {
  if (text === null) return '\\N';
  return /[\\\b\f\n\r\t\v]/.test(text) ? text.replace(/[\\\b\f\n\r\t\v]/g, (c) => ENCODE[c]) : text;
}
