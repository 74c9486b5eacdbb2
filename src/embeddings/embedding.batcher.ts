import { RequestContext } from '../common/http/request-context.js';
import { EmbedBatch, Embedded, EmbeddingSpec, specKey } from './embedding.types.js';

export interface BatcherOptions {
  batchSize: number;
  /** Most batches in flight at once, over all callers and models. */
  concurrency: number;
  /** How long a lane collects texts before its first partial batch leaves; 0 = at once. */
  coalesceMs: number;
}

/** One text waiting for (or being given) its embedding, shared by every caller that asked for it. */
interface Entry {
  readonly key: string;
  readonly text: string;
  readonly lane: Lane;
  /** The tickets that want this text, and where in each ticket it goes. */
  readonly waiters: Array<{ ticket: Ticket; position: number }>;
  subscribers: number;
  cancelled: boolean;
  batch?: Batch;
}

interface Ticket {
  readonly entries: Entry[];
  readonly results: Embedded[];
  remaining: number;
  settled: boolean;
  resolve(results: Embedded[]): void;
  reject(reason: unknown): void;
}

interface Batch {
  readonly ctx: RequestContext;
  /** Entries that still have a subscriber; at 0 the upstream request is aborted. */
  live: number;
}

/** The queue for one embedding space (model + dimensions). */
interface Lane {
  readonly key: string;
  readonly spec: EmbeddingSpec;
  queue: Entry[];
  live: number;
  /** The coalescing window has passed: partial batches may leave. */
  due: boolean;
  timer?: NodeJS.Timeout;
}

/** One caller's interest in a list of texts. */
export interface EmbeddingTicket {
  /** The embeddings, in the order the texts were submitted. Rejects with the reason given to `release`. */
  readonly done: Promise<Embedded[]>;
  /** Drops the caller's interest: texts nobody else wants leave the queue; a batch nobody wants is aborted. */
  release(reason: unknown): void;
}

/**
 * Dynamic batching for upstream embeddings, the way text-embeddings-inference batches: texts from
 * concurrent calls join per-model lanes; a lane sends a batch as soon as it holds `batchSize` texts,
 * or when its coalescing window ends; at most `concurrency` batches are in flight, the rest wait
 * in the lane (and keep filling it). A text already queued or in flight is not sent twice: later
 * callers share its entry. Pure scheduling; the `send` function does the HTTP.
 */
export class EmbeddingBatcher {
  private readonly lanes = new Map<string, Lane>();
  private readonly pending = new Map<string, Entry>();
  private inFlight = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly send: EmbedBatch,
  ) {}

  /** Texts waiting for a batch (not yet sent). */
  get queued(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.live;
    return n;
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  submit(spec: EmbeddingSpec, texts: readonly string[]): EmbeddingTicket {
    const lane = this.laneFor(spec);
    let resolve!: (results: Embedded[]) => void;
    let reject!: (reason: unknown) => void;
    const done = new Promise<Embedded[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that releases its ticket need not await it.
    done.catch(() => undefined);
    const ticket: Ticket = { entries: [], results: new Array<Embedded>(texts.length), remaining: texts.length, settled: false, resolve, reject };
    const fresh: Entry[] = [];
    texts.forEach((text, position) => {
      const key = `${lane.key}\u0000${text}`;
      let entry = this.pending.get(key);
      if (!entry) {
        entry = { key, text, lane, waiters: [], subscribers: 0, cancelled: false };
        this.pending.set(key, entry);
        fresh.push(entry);
      }
      entry.subscribers++;
      entry.waiters.push({ ticket, position });
      ticket.entries.push(entry);
    });
    if (fresh.length > 0) this.enqueue(lane, fresh);
    if (texts.length === 0) this.settle(ticket);
    return { done, release: (reason: unknown) => this.fail(ticket, reason) };
  }

  private laneFor(spec: EmbeddingSpec): Lane {
    const key = specKey(spec);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, spec: { ...spec }, queue: [], live: 0, due: false };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private enqueue(lane: Lane, entries: Entry[]): void {
    for (const entry of entries) lane.queue.push(entry);
    lane.live += entries.length;
    if (this.options.coalesceMs === 0) lane.due = true;
    else if (!lane.due && !lane.timer) {
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        lane.due = true;
        this.pump();
      }, this.options.coalesceMs);
    }
    this.pump();
  }

  /** Sends every batch that may leave now. */
  private pump(): void {
    const { batchSize, concurrency } = this.options;
    for (const lane of this.lanes.values()) {
      while (this.inFlight < concurrency && lane.live > 0 && (lane.due || lane.live >= batchSize)) {
        this.dispatch(lane, this.take(lane, batchSize));
      }
      if (lane.live === 0) this.retire(lane);
      if (this.inFlight >= concurrency) return;
    }
  }

  private take(lane: Lane, max: number): Entry[] {
    const batch: Entry[] = [];
    let i = 0;
    while (i < lane.queue.length && batch.length < max) {
      const entry = lane.queue[i++];
      if (!entry.cancelled) batch.push(entry);
    }
    lane.queue.splice(0, i);
    lane.live -= batch.length;
    return batch;
  }

  /** An empty lane forgets its window, so the next text opens a new one. */
  private retire(lane: Lane): void {
    clearTimeout(lane.timer);
    this.lanes.delete(lane.key);
  }

  private dispatch(lane: Lane, entries: Entry[]): void {
    const batch: Batch = { ctx: RequestContext.detached(), live: entries.length };
    for (const entry of entries) entry.batch = batch;
    this.inFlight++;
    const texts = entries.map((e) => e.text);
    Promise.resolve()
      .then(() => this.send(lane.spec, texts, batch.ctx))
      .then(
        (results) => entries.forEach((entry, i) => this.fulfil(entry, results[i])),
        // A failed batch fails every call that waits on it, before the next batch may leave:
        // those calls' other queued texts are dropped first, so nobody pays for them.
        (error: unknown) => {
          for (const entry of entries) {
            this.forget(entry);
            for (const { ticket } of entry.waiters) this.fail(ticket, error);
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        this.pump();
      });
  }

  private fulfil(entry: Entry, value: Embedded): void {
    this.forget(entry);
    for (const { ticket, position } of entry.waiters) {
      if (ticket.settled) continue;
      ticket.results[position] = value;
      if (--ticket.remaining === 0) this.settle(ticket);
    }
  }

  private settle(ticket: Ticket): void {
    ticket.settled = true;
    ticket.resolve(ticket.results);
  }

  /** Rejects the ticket and drops its interest in every text it still waits for. */
  private fail(ticket: Ticket, reason: unknown): void {
    if (ticket.settled) return;
    ticket.settled = true;
    for (const entry of ticket.entries) this.unsubscribe(entry);
    ticket.reject(reason);
  }

  private unsubscribe(entry: Entry): void {
    if (--entry.subscribers > 0) return;
    this.forget(entry);
    if (entry.batch) {
      // In flight: abort the upstream request once no caller wants any text of it.
      if (--entry.batch.live === 0) entry.batch.ctx.markClientClosed();
    } else if (!entry.cancelled) {
      entry.cancelled = true;
      entry.lane.live--;
      if (entry.lane.live === 0 && this.lanes.get(entry.lane.key) === entry.lane) this.retire(entry.lane);
    }
  }

  private forget(entry: Entry): void {
    if (this.pending.get(entry.key) === entry) this.pending.delete(entry.key);
  }
}
