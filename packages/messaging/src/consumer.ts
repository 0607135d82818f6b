import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { DomainError, type Logger } from '@datalinx/common';
import { STREAMS } from '@datalinx/contracts';
import { decodeJson, isNotFound } from './nats';

/** A message that can never succeed (bad contract, unknown version): terminated, not retried. */
export class PermanentJobError extends Error {
  constructor(
    message: string,
    readonly code = 'INVALID_MESSAGE',
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export interface DurableConsumerConfig {
  stream: string;
  durable: string;
  filterSubject?: string;
  ackWaitMs: number;
  maxDeliver: number;
  /** -1 = unlimited. */
  maxAckPending?: number;
}

/** Creates or updates a durable pull consumer (idempotent, safe at every boot). */
export async function ensureDurableConsumer(jsm: JetStreamManager, c: DurableConsumerConfig): Promise<void> {
  const cfg = {
    durable_name: c.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: c.ackWaitMs * 1_000_000,
    max_deliver: c.maxDeliver,
    max_ack_pending: c.maxAckPending ?? 1000,
    ...(c.filterSubject ? { filter_subject: c.filterSubject } : {}),
  };
  try {
    await jsm.consumers.info(c.stream, c.durable);
    await jsm.consumers.update(c.stream, c.durable, {
      ack_wait: cfg.ack_wait,
      max_deliver: cfg.max_deliver,
      max_ack_pending: cfg.max_ack_pending,
      ...(c.filterSubject ? { filter_subject: c.filterSubject } : {}),
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await jsm.consumers.add(c.stream, cfg);
  }
}

export interface ConsumeContext {
  /** 1 on the first delivery. */
  attempt: number;
  /** True when this is the last delivery JetStream will make. */
  lastAttempt: boolean;
  log: Logger;
}

export interface PullWorkerOptions {
  js: JetStreamClient;
  consumer: DurableConsumerConfig;
  concurrency: number;
  log: Logger;
  handle: (msg: JsMsg, ctx: ConsumeContext) => Promise<void>;
  /** Called when the last delivery failed (or the message is invalid); the message is then terminated. */
  onGiveUp?: (msg: JsMsg, err: Error, ctx: ConsumeContext) => Promise<void>;
  /** Base of the exponential nak backoff. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * Bounded-concurrency pull loop over one durable consumer:
 * ack on success; `working()` heartbeats while a handler runs (long jobs keep their lease);
 * nak with exponential backoff on a transient failure; term on a PermanentJobError or after the
 * last delivery. `stop()` stops pulling and waits for in-flight handlers (drain on SIGTERM).
 */
export class PullWorker {
  private stopping = false;
  private loops: Promise<void>[] = [];
  private inFlight = 0;

  constructor(private readonly o: PullWorkerOptions) {}

  get busy(): number {
    return this.inFlight;
  }

  async start(): Promise<void> {
    const consumer = await this.o.js.consumers.get(this.o.consumer.stream, this.o.consumer.durable);
    for (let i = 0; i < this.o.concurrency; i++) {
      this.loops.push(
        (async () => {
          while (!this.stopping) {
            let m: JsMsg | null = null;
            try {
              m = await consumer.next({ expires: 1000 });
            } catch (err) {
              if (this.stopping) break;
              this.o.log.warn({ err: (err as Error).message }, 'pull failed; retrying');
              await sleep(500);
              continue;
            }
            if (m) await this.process(m);
          }
        })(),
      );
    }
  }

  private async process(m: JsMsg): Promise<void> {
    this.inFlight++;
    const attempt = m.info.deliveryCount;
    const ctx: ConsumeContext = {
      attempt,
      lastAttempt: attempt >= this.o.consumer.maxDeliver,
      log: this.o.log.child({ subject: m.subject, seq: m.seq, attempt }),
    };
    const heartbeat = setInterval(() => m.working(), Math.max(250, Math.floor(this.o.consumer.ackWaitMs / 3)));
    try {
      await this.o.handle(m, ctx);
      m.ack();
    } catch (e) {
      const err = e as Error;
      if (err instanceof PermanentJobError || ctx.lastAttempt) {
        ctx.log.error({ err: err.message, permanent: err instanceof PermanentJobError }, 'giving up on message');
        try {
          await this.o.onGiveUp?.(m, err, ctx);
        } catch (giveUpErr) {
          ctx.log.error({ err: (giveUpErr as Error).message }, 'reporting the give-up failed; redelivering');
          m.nak(this.backoff(attempt));
          return;
        }
        // nats-server 2.9 ignores a term that carries a reason (+TERM <reason>): send a plain term.
        m.term();
      } else {
        const delay = this.backoff(attempt);
        ctx.log.warn({ err: err.message, retryInMs: delay }, 'handler failed; will retry');
        m.nak(delay);
      }
    } finally {
      clearInterval(heartbeat);
      this.inFlight--;
    }
  }

  private backoff(attempt: number): number {
    const base = this.o.backoffBaseMs ?? 1000;
    return Math.min(this.o.backoffMaxMs ?? 60000, base * 2 ** Math.max(0, attempt - 1));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StreamConsumerOptions<E> {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  stream: string;
  /** Durable name; every instance of the service shares one (they split the work). */
  durable: string;
  filterSubject: string;
  concurrency: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffBaseMs?: number;
  /** What the consumer is, for logs ("run events", "audit events"). */
  what: string;
  /** Validates a message against its contract; throws PermanentJobError for one that can never apply. */
  parse: (subject: string, data: Uint8Array) => E;
  /** Applies it (idempotently). A DomainError means it can never apply: terminated, not retried. */
  apply: (event: E) => Promise<Record<string, unknown> | void>;
}

/**
 * A validated, idempotent event consumer over one durable: parse with the contract, apply, ack.
 * Invalid messages and domain rejections are terminated (never block the ones behind them);
 * anything else (the database is down) is retried with backoff; `stop()` drains.
 */
export class StreamConsumer<E> {
  private worker?: PullWorker;
  protected readonly log: Logger;

  constructor(private readonly so: StreamConsumerOptions<E>) {
    this.log = so.log.child({ component: `${so.what.replace(/\s+/g, '-')}-consumer`, durable: so.durable });
  }

  async start(): Promise<void> {
    const consumer: DurableConsumerConfig = {
      stream: this.so.stream,
      durable: this.so.durable,
      filterSubject: this.so.filterSubject,
      ackWaitMs: this.so.ackWaitMs,
      maxDeliver: this.so.maxDeliver,
    };
    await ensureDurableConsumer(this.so.jsm, consumer);
    this.worker = new PullWorker({
      js: this.so.js,
      consumer,
      concurrency: this.so.concurrency,
      log: this.log,
      backoffBaseMs: this.so.backoffBaseMs,
      handle: async (msg) => {
        const event = this.so.parse(msg.subject, msg.data);
        try {
          const outcome = await this.so.apply(event);
          this.log.debug({ seq: msg.seq, ...(outcome ?? {}) }, `${this.so.what}: applied`);
        } catch (err) {
          if (err instanceof DomainError) throw new PermanentJobError(err.message, err.code);
          throw err;
        }
      },
    });
    await this.worker.start();
    this.log.info({ filterSubject: this.so.filterSubject, concurrency: this.so.concurrency }, `consuming ${this.so.what}`);
  }

  /** Stops pulling and waits for in-flight events (SIGTERM drain). */
  async stop(): Promise<void> {
    await this.worker?.stop();
  }
}

/** What a parser needs of an event's contract (a zod schema; structural, so this package does not depend on zod). */
export interface EventContract<E> {
  safeParse(body: unknown): { success: true; data: E } | { success: false; error: { issues: ReadonlyArray<{ message: string }> } };
}

/**
 * A StreamConsumer `parse` for a JSON event: the body validated against its contract. Not JSON, or
 * not the contract: PermanentJobError `invalid <event> event: …` (terminated, never retried).
 */
export function jsonEventParser<E>(contract: EventContract<E>, event: string): (subject: string, data: Uint8Array) => E {
  return (_subject, data) => {
    let body: unknown;
    try {
      body = decodeJson(data);
    } catch {
      throw new PermanentJobError(`invalid ${event} event: not JSON`);
    }
    const parsed = contract.safeParse(body);
    if (!parsed.success) throw new PermanentJobError(`invalid ${event} event: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  };
}

/**
 * A service's replica of another service's facts: a durable consumer of one EVENTS subject that
 * hands each valid event to `record`, in the event's tenant. `record` must be idempotent (a
 * redelivered event changes nothing); what it returns is logged. An invalid event is terminated.
 * `accept` lets a caller skip events (the test platform shares the stream with other databases).
 */
export async function startEventReplica<E>(o: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  log: Logger;
  durable: string;
  /** The EVENTS subject replicated (one contract). */
  subject: string;
  contract: EventContract<E>;
  /** The event's name in messages about an invalid one, e.g. `workspace.created`. */
  event: string;
  /** What the consumer is, for logs ("workspace events"). */
  what: string;
  concurrency: number;
  accept?: (ev: E) => Promise<boolean>;
  record: (ev: E) => Promise<Record<string, unknown>>;
}): Promise<StreamConsumer<E>> {
  const consumer = new StreamConsumer<E>({
    js: o.js,
    jsm: o.jsm,
    log: o.log,
    stream: STREAMS.EVENTS.name,
    durable: o.durable,
    filterSubject: o.subject,
    concurrency: o.concurrency,
    ackWaitMs: 30_000,
    maxDeliver: 10,
    what: o.what,
    parse: jsonEventParser(o.contract, o.event),
    apply: async (ev) => {
      if (o.accept && !(await o.accept(ev))) return;
      return o.record(ev);
    },
  });
  await consumer.start();
  return consumer;
}
