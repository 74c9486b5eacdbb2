import { performance } from 'node:perf_hooks';
import { LazyAbortSignal } from '../cancellation/lazy-abort-signal.js';
import { ClientClosedError, ShuttingDownError } from '../errors/index.js';

/** Why a request's work is being cancelled: its client left, or the server is shutting down past its grace period. */
export type CancelReason = 'client' | 'shutdown';

/**
 * What a service needs to know about the HTTP request it serves, without seeing HTTP: a signal that
 * fires when the client goes away, and tallies of time spent waiting on upstreams (for
 * Server-Timing: ballast's own time is the total minus that wait) and on the vector store (a part
 * of ballast's own time, shown beside it).
 */
export class RequestContext {
  readonly startedAt = performance.now();
  upstreamMs = 0;
  /** Time with at least one of this request's vector-store operations in flight, in ms (overlapping ones count once). */
  storeMs = 0;
  private storeInFlight = 0;
  private storeBusySince = 0;
  /**
   * The route pattern that matched (e.g. `/chat/complete`), or `unmatched`: for metrics, the log
   * line and probe checks. Read once per request, because Fastify's `request.routeOptions` builds
   * a new 12-field object on every access.
   */
  route = 'unmatched';
  /** Who is calling: the short hash id of their API key (never the key), once authenticated. */
  clientId?: string;
  private cancelledBy: CancelReason | null = null;
  private readonly lazySignal = new LazyAbortSignal();
  private readonly cancelListeners = new Set<(reason: CancelReason) => void>();
  private endListeners?: Array<() => void>;

  /** Fires when the request's work is cancelled (made on first use). */
  get signal(): AbortSignal {
    return this.lazySignal.get(this.cancelledBy !== null);
  }

  get clientClosed(): boolean {
    return this.cancelledBy === 'client';
  }

  get cancelled(): CancelReason | null {
    return this.cancelledBy;
  }

  /** Calls `listener` once when the request's work is cancelled; returns the unsubscribe function. */
  onCancel(listener: (reason: CancelReason) => void): () => void {
    if (this.cancelledBy) {
      listener(this.cancelledBy);
      return () => undefined;
    }
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** Calls `listener` once the response has been written out or abandoned (e.g. to reuse its buffer). */
  afterResponse(listener: () => void): void {
    (this.endListeners ??= []).push(listener);
  }

  /** The response is over (written, or the client left). */
  responseEnded(): void {
    const listeners = this.endListeners;
    this.endListeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  markClientClosed(): void {
    this.cancel('client');
  }

  cancel(reason: CancelReason): void {
    if (this.cancelledBy) return;
    this.cancelledBy = reason;
    this.lazySignal.abort();
    for (const listener of this.cancelListeners) listener(reason);
    this.cancelListeners.clear();
  }

  /** The error that ends work cancelled for `reason`: nothing is answered to a client that left; a shutdown answers 503. */
  static cancellationError(reason: CancelReason): Error {
    return reason === 'shutdown' ? new ShuttingDownError() : new ClientClosedError();
  }

  /** Set when a stream opens: from then on the time is the stream's, not ballast's own. */
  private ownMsAtStreamOpen?: number;

  /** Time since the request arrived minus time waiting on upstreams, in ms (for a stream: until it opened). */
  ownMs(now = performance.now()): number {
    return this.ownMsAtStreamOpen ?? Math.max(0, now - this.startedAt - this.upstreamMs);
  }

  /** Freezes ballast's own time at this moment (a stream's headers are going out). */
  streamOpened(now = performance.now()): void {
    this.ownMsAtStreamOpen ??= Math.max(0, now - this.startedAt - this.upstreamMs);
  }

  /** Runs `operation` (a call to the vector store) counted as waiting on the store; resolves or rejects as it does. */
  async timeStore<T>(operation: () => Promise<T>): Promise<T> {
    if (this.storeInFlight++ === 0) this.storeBusySince = performance.now();
    try {
      return await operation();
    } finally {
      if (--this.storeInFlight === 0) this.storeMs += performance.now() - this.storeBusySince;
    }
  }

  /** Whether this request has asked the vector store anything. */
  get usedStore(): boolean {
    return this.storeMs > 0 || this.storeInFlight > 0;
  }

  serverTiming(now = performance.now()): string {
    const timing = `ballast;dur=${this.ownMs(now).toFixed(3)};desc="ballast own time", upstream;dur=${this.upstreamMs.toFixed(3)}`;
    return this.usedStore ? `${timing}, store;dur=${this.storeMs.toFixed(3)};desc="vector store, within ballast own time"` : timing;
  }

  /** A context for work that no HTTP request drives (probes, tests). */
  static detached(): RequestContext {
    return new RequestContext();
  }
}
