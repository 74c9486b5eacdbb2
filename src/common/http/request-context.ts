import { performance } from 'node:perf_hooks';

/**
 * What a service needs to know about the HTTP request it serves, without seeing HTTP: a signal that
 * fires when the client goes away, and a tally of time spent waiting on upstreams (for
 * Server-Timing: ballast's own time is the total minus that wait).
 */
export class RequestContext {
  readonly startedAt = performance.now();
  upstreamMs = 0;
  /** Who is calling: the short hash id of their API key (never the key), once authenticated. */
  clientId?: string;
  private closed = false;
  // Made on first use: most requests never need a signal, and AbortControllers are not free.
  private controller?: AbortController;
  private readonly closeListeners = new Set<() => void>();

  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.closed) this.controller.abort();
    return this.controller.signal;
  }

  get clientClosed(): boolean {
    return this.closed;
  }

  /** Calls `listener` once when the client goes away; returns the unsubscribe function. */
  onClientClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  markClientClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller?.abort();
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
  }

  /** Time since the request arrived minus time waiting on upstreams, in ms. */
  ownMs(now = performance.now()): number {
    return Math.max(0, now - this.startedAt - this.upstreamMs);
  }

  serverTiming(now = performance.now()): string {
    return `ballast;dur=${this.ownMs(now).toFixed(3)};desc="ballast own time", upstream;dur=${this.upstreamMs.toFixed(3)}`;
  }

  /** A context for work that no HTTP request drives (probes, tests). */
  static detached(): RequestContext {
    return new RequestContext();
  }
}
