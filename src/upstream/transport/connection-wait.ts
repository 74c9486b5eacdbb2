import { performance } from 'node:perf_hooks';
import { errors } from 'undici';
import { UpstreamPoolExhaustedError } from '../errors/upstream-pool-exhausted.error.js';
import { CancelSignal } from './abort-emitter.js';

export type PoolName = 'json' | 'stream';

/** What a handler needs from its pool: whether every connection it may open is in use. */
export interface PoolView {
  readonly name: PoolName;
  readonly maxWaitMs: number;
  full(origin: string): boolean;
}

/**
 * A request cancelled (by the deadline, the client, shutdown) while it still waited for a
 * connection. `poolFull` says whether it waited because every connection was busy (and not because
 * a new one was still being opened): the caller maps a deadline that fired then to
 * UpstreamPoolExhaustedError. Still undici's RequestAbortedError for everything else.
 */
export class ConnectionWaitAbortedError extends errors.RequestAbortedError {
  constructor(
    readonly pool: PoolName,
    readonly waitedMs: number,
    readonly poolFull: boolean,
  ) {
    super();
  }
}

/**
 * The time a request spends between `dispatch()` and a connection taking it (undici's
 * `onRequestStart`): queued behind busy connections, or opening a new one. Bounded by the pool's
 * `maxWaitMs`: past it, while every connection is busy, the request fails with
 * UpstreamPoolExhaustedError (undici's queue has no bound of its own). One timer per request, ~0.3 µs.
 */
export class ConnectionWait {
  /** Milliseconds until a connection took the request; undefined while it waits. */
  waitedMs: number | undefined;
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: PoolView,
    private readonly origin: string,
    private readonly onGiveUp: (error: Error) => void,
  ) {
    this.timer = setTimeout(() => this.expire(), pool.maxWaitMs);
  }

  get waiting(): boolean {
    return this.waitedMs === undefined;
  }

  /** A connection took the request. */
  connected(): void {
    if (this.waitedMs !== undefined) return;
    this.waitedMs = performance.now() - this.startedAt;
    this.stop();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The error for a request cancelled now: marked as a pool wait while it still waits. */
  cancelled(): Error {
    this.stop();
    if (!this.waiting) return new errors.RequestAbortedError();
    return new ConnectionWaitAbortedError(this.pool.name, performance.now() - this.startedAt, this.pool.full(this.origin));
  }

  private expire(): void {
    this.timer = undefined;
    // Still opening a connection (the pool has room): that is the connect timeout's and the
    // deadline's to bound, not a pool wait.
    if (!this.waiting || !this.pool.full(this.origin)) return;
    this.onGiveUp(new UpstreamPoolExhaustedError(this.pool.name, performance.now() - this.startedAt));
  }
}

/** Calls `listener` once when `signal` (not yet aborted) fires; answers how to stop listening. */
export function onCancel(signal: CancelSignal, listener: () => void): () => void {
  if (signal instanceof AbortSignal) {
    signal.addEventListener('abort', listener, { once: true });
    return () => signal.removeEventListener('abort', listener);
  }
  signal.once('abort', listener);
  return () => signal.removeListener('abort', listener);
}
