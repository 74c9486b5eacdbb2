import { RequestContext } from '../http/request-context.js';

export interface BatcherOptions {
  batchSize: number;
  /** Most batches in flight at once, over all callers and lanes. */
  concurrency: number;
  /** How long a lane collects texts before its first partial batch leaves; 0 = at once. */
  coalesceMs: number;
  /**
   * Whether a lane with no batch in flight waits out the window too (default true). False: from idle,
   * texts leave at once and only texts arriving while a batch of their lane is in flight wait for the
   * window (text-embeddings-inference batches what queued while it was busy, and never waits when idle):
   * a lone text gains nothing from waiting on an idle upstream, and under load a lane is rarely idle.
   */
  coalesceWhenIdle?: boolean;
  /** Most texts waiting for a batch; a submit that would go beyond gets `QueueFullError`. Default: unbounded. */
  maxQueued?: number;
  /**
   * When a batch fails, whether the other batches its callers waited on that are already in flight
   * run to their end (default false: aborted once no caller wants them; queued texts are dropped
   * either way). True where a batch's results are worth having without a caller: embeddings are
   * cached (and paid for), so a caller that retries after the failure finds them.
   */
  finishInFlightOnFailure?: boolean;
}

/**
 * Sends one batch of texts; answers one result per text, in order. The context belongs to the batch,
 * not to any one caller: it closes (aborting the work) when every caller of the batch has gone.
 */
export type SendBatch<S, R> = (spec: S, texts: string[], ctx: RequestContext) => Promise<R[]>;

/** The queue is full: the submit was refused and nothing was queued. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(
    readonly queued: number,
    readonly limit: number,
  ) {
    super(`${queued} texts are queued; the limit is ${limit}`);
  }
}

/**
 * One text waiting for (or being given) its embedding, shared by every caller that asked for it.
 * The first caller's ticket and position are held in the entry itself and only later callers get
 * an array: one object per text is what a busy lane allocates (its entries often outlive a young-
 * generation collection while a batch is in flight, so each extra object is promoted garbage).
 */
interface Entry<S, R> {
  readonly text: string;
  readonly lane: Lane<S, R>;
  /** The lane's map of pending texts this entry is in (until forgotten). */
  readonly pending: Map<string, Entry<S, R>>;
  readonly ticket: Ticket<S, R>;
  readonly position: number;
  /** Later tickets that want this text, and where in each it goes. */
  more?: Array<{ ticket: Ticket<S, R>; position: number }>;
  subscribers: number;
  cancelled: boolean;
  batch?: Batch;
}

interface Ticket<S, R> {
  readonly entries: Entry<S, R>[];
  readonly results: R[];
  remaining: number;
  settled: boolean;
  resolve(results: R[]): void;
  reject(reason: unknown): void;
}

interface Batch {
  readonly ctx: RequestContext;
  /** Entries that still have a subscriber; at 0 the upstream request is aborted. */
  live: number;
}

/** The queue for one kind of work (e.g. one model). */
interface Lane<S, R> {
  readonly key: string;
  readonly spec: S;
  queue: Entry<S, R>[];
  live: number;
  /** The coalescing window has passed: partial batches may leave. */
  due: boolean;
  timer?: NodeJS.Timeout;
}

/** One caller's interest in a list of texts. */
export interface BatchTicket<R> {
  /** The embeddings, in the order the texts were submitted. Rejects with the reason given to `release`. */
  readonly done: Promise<R[]>;
  /** Drops the caller's interest: texts nobody else wants leave the queue; a batch nobody wants is aborted. */
  release(reason: unknown): void;
}

/**
 * Dynamic micro-batching, the way text-embeddings-inference batches: texts from concurrent calls
 * join per-spec lanes (one per model); a lane sends a batch as soon as it holds `batchSize` texts,
 * or when its coalescing window ends; at most `concurrency` batches are in flight, the rest wait in
 * the lane (and keep filling it). A text already queued or in flight in the same lane is not sent
 * twice: later callers share its entry. A caller that leaves takes its queued texts out. Pure
 * scheduling; `send` does the work (an upstream request, a worker-pool task).
 */
export class MicroBatcher<S, R> {
  /** Running totals (for metrics and tests): batches sent, texts sent in them, queued texts dropped because every caller left. */
  readonly stats = { batches: 0, texts: 0, dropped: 0, failedBatches: 0 };
  private readonly lanes = new Map<string, Lane<S, R>>();
  /** Texts queued or in flight, per lane key then text (no key string made per text). */
  private readonly pending = new Map<string, Map<string, Entry<S, R>>>();
  private inFlight = 0;
  /** Batches in flight per lane key (lanes themselves are retired when empty). */
  private readonly inFlightByLane = new Map<string, number>();

  constructor(
    private readonly options: BatcherOptions,
    private readonly laneKey: (spec: S) => string,
    private readonly send: SendBatch<S, R>,
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

  /** Queues the texts (throws `QueueFullError`, queueing nothing, if `maxQueued` would be passed). */
  submit(spec: S, texts: readonly string[]): BatchTicket<R> {
    const key = this.laneKey(spec);
    this.admit(key, texts);
    const lane = this.laneFor(key, spec);
    let resolve!: (results: R[]) => void;
    let reject!: (reason: unknown) => void;
    const done = new Promise<R[]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A caller that releases its ticket need not await it.
    done.catch(() => undefined);
    const ticket: Ticket<S, R> = { entries: [], results: new Array<R>(texts.length), remaining: texts.length, settled: false, resolve, reject };
    const fresh: Entry<S, R>[] = [];
    let pending = this.pending.get(key);
    if (!pending) this.pending.set(key, (pending = new Map()));
    for (let position = 0; position < texts.length; position++) {
      const text = texts[position];
      let entry = pending.get(text);
      if (!entry) {
        entry = { text, lane, pending, ticket, position, subscribers: 1, cancelled: false };
        pending.set(text, entry);
        fresh.push(entry);
      } else {
        entry.subscribers++;
        (entry.more ??= []).push({ ticket, position });
      }
      ticket.entries.push(entry);
    }
    if (fresh.length > 0) this.enqueue(lane, fresh, this.options.coalesceWhenIdle === false && !this.inFlightByLane.has(lane.key));
    if (texts.length === 0) this.settle(ticket);
    return { done, release: (reason: unknown) => this.fail(ticket, reason) };
  }

  private admit(laneKey: string, texts: readonly string[]): void {
    const limit = this.options.maxQueued;
    if (limit === undefined) return;
    const queued = this.queued;
    if (queued + texts.length <= limit) return;
    // Texts already queued or in flight cost nothing more; count only the new ones.
    let fresh = 0;
    const pending = this.pending.get(laneKey);
    for (const text of new Set(texts)) if (!pending?.has(text)) fresh++;
    if (queued + fresh > limit) throw new QueueFullError(queued, limit);
  }

  private laneFor(key: string, spec: S): Lane<S, R> {
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, spec, queue: [], live: 0, due: false };
      this.lanes.set(key, lane);
    }
    return lane;
  }

  private enqueue(lane: Lane<S, R>, entries: Entry<S, R>[], now: boolean): void {
    for (const entry of entries) lane.queue.push(entry);
    lane.live += entries.length;
    if (this.options.coalesceMs === 0 || now) lane.due = true;
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

  private take(lane: Lane<S, R>, max: number): Entry<S, R>[] {
    const batch: Entry<S, R>[] = [];
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
  private retire(lane: Lane<S, R>): void {
    clearTimeout(lane.timer);
    this.lanes.delete(lane.key);
  }

  private dispatch(lane: Lane<S, R>, entries: Entry<S, R>[]): void {
    const batch: Batch = { ctx: RequestContext.detached(), live: entries.length };
    for (const entry of entries) entry.batch = batch;
    this.inFlight++;
    this.inFlightByLane.set(lane.key, (this.inFlightByLane.get(lane.key) ?? 0) + 1);
    this.stats.batches++;
    this.stats.texts += entries.length;
    const texts = entries.map((e) => e.text);
    Promise.resolve()
      .then(() => this.send(lane.spec, texts, batch.ctx))
      .then(
        (results) => entries.forEach((entry, i) => this.fulfil(entry, results[i])),
        // A failed batch fails every call that waits on it, before the next batch may leave:
        // those calls' other queued texts are dropped first, so nobody pays for them.
        (error: unknown) => {
          this.stats.failedBatches++;
          const keepInFlight = this.options.finishInFlightOnFailure === true;
          for (const entry of entries) {
            this.forget(entry);
            this.fail(entry.ticket, error, keepInFlight);
            if (entry.more) for (const { ticket } of entry.more) this.fail(ticket, error, keepInFlight);
          }
        },
      )
      .finally(() => {
        this.inFlight--;
        const left = this.inFlightByLane.get(lane.key)! - 1;
        if (left === 0) this.inFlightByLane.delete(lane.key);
        else this.inFlightByLane.set(lane.key, left);
        this.pump();
      });
  }

  private fulfil(entry: Entry<S, R>, value: R): void {
    this.forget(entry);
    this.give(entry.ticket, entry.position, value);
    if (entry.more) for (const { ticket, position } of entry.more) this.give(ticket, position, value);
  }

  private give(ticket: Ticket<S, R>, position: number, value: R): void {
    if (ticket.settled) return;
    ticket.results[position] = value;
    if (--ticket.remaining === 0) this.settle(ticket);
  }

  /**
   * A finished batch may complete dozens of callers at once, and answering each costs the event loop
   * some HTTP work: done all in one turn, that stalls everything else (a /health probe waited 15 ms
   * behind 32 answers in the classify benchmark). So callers are answered one per event-loop turn,
   * with I/O in between.
   */
  private settle(ticket: Ticket<S, R>): void {
    ticket.settled = true;
    this.toAnswer.push(ticket);
    if (this.toAnswer.length === 1) setImmediate(this.answerNext);
  }

  private readonly toAnswer: Ticket<S, R>[] = [];
  private readonly answerNext = (): void => {
    const ticket = this.toAnswer.shift();
    if (ticket) ticket.resolve(ticket.results);
    if (this.toAnswer.length > 0) setImmediate(this.answerNext);
  };

  /** Rejects the ticket and drops its interest in every text it still waits for (with `keepInFlight`, only in those not yet sent). */
  private fail(ticket: Ticket<S, R>, reason: unknown, keepInFlight = false): void {
    if (ticket.settled) return;
    ticket.settled = true;
    for (const entry of ticket.entries) if (!(keepInFlight && entry.batch)) this.unsubscribe(entry);
    ticket.reject(reason);
  }

  private unsubscribe(entry: Entry<S, R>): void {
    if (--entry.subscribers > 0) return;
    this.forget(entry);
    if (entry.batch) {
      // In flight: abort the upstream request once no caller wants any text of it.
      if (--entry.batch.live === 0) entry.batch.ctx.markClientClosed();
    } else if (!entry.cancelled) {
      entry.cancelled = true;
      entry.lane.live--;
      this.stats.dropped++;
      if (entry.lane.live === 0 && this.lanes.get(entry.lane.key) === entry.lane) this.retire(entry.lane);
    }
  }

  private forget(entry: Entry<S, R>): void {
    const pending = entry.pending;
    if (pending.get(entry.text) !== entry) return;
    pending.delete(entry.text);
    if (pending.size === 0 && this.pending.get(entry.lane.key) === pending) this.pending.delete(entry.lane.key);
  }
}
