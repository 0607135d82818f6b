import { Readable, Writable } from 'node:stream';
import type { Client } from 'pg';

/**
 * Streaming COPY over node-postgres' simple-query protocol, without pg-copy-streams (not
 * installed): a "submittable" that node-postgres hands the protocol messages of one query to.
 *
 * - `copyTo(client, 'COPY (…) TO STDOUT')` is a Readable of the CopyData payloads. When the
 *   consumer is slow (push returns false) the socket is paused, so the server's send buffer fills
 *   and PostgreSQL waits: memory stays bounded by the stream's high-water mark.
 * - `copyFrom(client, 'COPY … FROM STDIN')` is a Writable whose chunks are sent as CopyData;
 *   `write` waits for the socket to drain (backpressure), `end` sends CopyDone and finishes when
 *   the server has answered (CommandComplete, ReadyForQuery), with the server's error otherwise.
 */

/** The parts of node-postgres' Connection this module uses (not in @types/pg). */
interface PgConnection {
  stream: NodeJS.ReadableStream & NodeJS.WritableStream & { writable: boolean; once(ev: 'drain', cb: () => void): unknown };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(msg: string): void;
}

interface CopyMessage {
  chunk: Buffer;
}

/** What node-postgres calls on an active "submittable" query. */
interface Submittable {
  submit(connection: PgConnection): void;
  handleRowDescription(): void;
  handleDataRow(): void;
  handlePortalSuspended(): void;
  handleEmptyQuery(): void;
  handleCommandComplete(msg: { text?: string }, connection: PgConnection): void;
  handleError(err: Error, connection: PgConnection): void;
  handleReadyForQuery(connection: PgConnection): void;
  handleCopyInResponse(connection: PgConnection): void;
  handleCopyData(msg: CopyMessage, connection: PgConnection): void;
}

const CHUNK = 256 * 1024;

const submit = (client: Client, q: Submittable) => (client as unknown as { query(q: Submittable): void }).query(q);

export class CopyToStream extends Readable implements Submittable {
  private connection?: PgConnection;
  private paused = false;
  private failed = false;
  /** Bytes received (CopyData payloads). */
  bytes = 0;

  constructor(private readonly text: string) {
    super({ highWaterMark: 1 << 20 });
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  override _read(): void {
    if (this.paused && this.connection) {
      this.paused = false;
      this.connection.stream.resume();
    }
  }

  /**
   * node-postgres' parser reuses its buffer: a CopyData payload must be copied before the next
   * socket read. Rows are small, so they are gathered into 256 KiB chunks (fewer, larger writes).
   */
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;

  private flush(): void {
    if (!this.pos) return;
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    if (!this.push(out) && this.connection && !this.paused) {
      this.paused = true;
      this.connection.stream.pause();
    }
  }

  handleCopyData(msg: CopyMessage): void {
    const chunk = msg.chunk;
    this.bytes += chunk.length;
    if (this.destroyed) return;
    if (chunk.length > CHUNK - this.pos) this.flush();
    if (chunk.length >= CHUNK) {
      if (!this.push(Buffer.from(chunk)) && this.connection && !this.paused) {
        this.paused = true;
        this.connection.stream.pause();
      }
      return;
    }
    chunk.copy(this.buf, this.pos);
    this.pos += chunk.length;
    if (this.pos === CHUNK) this.flush();
  }

  handleError(err: Error): void {
    this.failed = true;
    this.connection?.stream.resume();
    this.destroy(err);
  }

  handleReadyForQuery(): void {
    if (this.failed || this.destroyed) return;
    this.flush();
    this.push(null);
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('not a COPY FROM query');
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A consumer that gave up early: let the socket flow again so the connection is not wedged
    // (the caller ends or discards the client).
    if (this.paused && this.connection) {
      this.paused = false;
      this.connection.stream.resume();
    }
    cb(err);
  }
}

export class CopyFromStream extends Writable implements Submittable {
  private connection?: PgConnection;
  private ready?: () => void;
  private isReady = false;
  private error?: Error;
  private finalCb?: (err?: Error | null) => void;
  private done = false;
  /** Rows the server reported (CommandComplete "COPY n"). */
  rowCount = 0;

  constructor(private readonly text: string) {
    super({ highWaterMark: 1 << 20 });
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.isReady = true;
    // Destroyed before the server was ready (the rows' source failed at once): fail the COPY now,
    // or the connection would wait for copy data forever.
    if (this.destroyed && !this.done) {
      connection.sendCopyFail('aborted before the first row');
      return;
    }
    this.ready?.();
  }

  private whenReady(fn: () => void): void {
    if (this.isReady) fn();
    else this.ready = fn;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.whenReady(() => {
      if (this.error) return cb(this.error);
      const c = this.connection!;
      c.sendCopyFromChunk(chunk);
      // sendCopyFromChunk does not return the socket's write() result: look at the buffer instead.
      const s = c.stream as unknown as { writableNeedDrain?: boolean; once(ev: string, f: () => void): void };
      if (s.writableNeedDrain) s.once('drain', () => cb());
      else cb();
    });
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.whenReady(() => {
      if (this.error) return cb(this.error);
      this.finalCb = cb;
      this.connection!.endCopyFrom();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Aborted before the end (the reader failed, a quota was hit): make the server fail the COPY
    // so the transaction is rolled back and the connection returns to a usable state.
    if (err && !this.done && this.connection && this.isReady && !this.error) this.connection.sendCopyFail(err.message.slice(0, 200));
    cb(err);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const n = /COPY (\d+)/.exec(msg.text ?? '');
    if (n) this.rowCount = Number(n[1]);
  }

  handleError(err: Error): void {
    this.error = err;
    this.done = true;
    if (this.finalCb) {
      const cb = this.finalCb;
      this.finalCb = undefined;
      cb(err);
    } else if (!this.isReady) {
      // Refused before COPY started (syntax, permission): fail pending writes.
      this.isReady = true;
      this.ready?.();
      this.destroy(err);
    } else {
      this.destroy(err);
    }
  }

  handleReadyForQuery(): void {
    this.done = true;
    if (this.finalCb) {
      const cb = this.finalCb;
      this.finalCb = undefined;
      cb();
    }
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handlePortalSuspended(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

export function copyTo(client: Client, text: string): CopyToStream {
  const s = new CopyToStream(text);
  submit(client, s);
  return s;
}

export function copyFrom(client: Client, text: string): CopyFromStream {
  const s = new CopyFromStream(text);
  submit(client, s);
  return s;
}
