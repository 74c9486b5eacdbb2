import { performance } from 'node:perf_hooks';
import { AbortEmitter } from './transport/abort-emitter.js';
import { AbortCause } from './upstream-error.mapper.js';

/** Who tells us the request's work is cancelled (a RequestContext). */
export interface CancelSource {
  onCancel(listener: (reason: 'client' | 'shutdown') => void): () => void;
}

/**
 * One cancellation per upstream call that fires on whichever comes first: the deadline, the idle
 * gap of a stream (the timer is refreshed on every chunk), or the client going away. The transport
 * gets `cancellation` (an AbortEmitter, cheap); `signal` is a real AbortSignal made only when asked
 * for (a retry's wait).
 */
export class RequestDeadline {
  readonly cancellation = new AbortEmitter();
  private readonly timer: NodeJS.Timeout;
  private causeValue: AbortCause = null;
  private idle = false;

  private readonly unsubscribe: () => void;
  private readonly startedAt = performance.now();

  constructor(
    client: CancelSource,
    private readonly timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.abort(this.idle ? 'idle' : 'timeout'), timeoutMs);
    this.unsubscribe = client.onCancel((reason) => this.abort(reason));
  }

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }

  get cause(): AbortCause {
    return this.causeValue;
  }

  /** Time left before the (first-event) deadline fires. */
  get remainingMs(): number {
    return this.causeValue ? 0 : Math.max(0, this.timeoutMs - (performance.now() - this.startedAt));
  }

  /** From now on the timeout measures the gap since the last `touch()`. */
  switchToIdle(): void {
    this.idle = true;
    this.timer.refresh();
  }

  /** Life from the upstream; only counts once streaming began (keep-alives must not extend the deadline). */
  touch(): void {
    if (this.idle) this.timer.refresh();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unsubscribe();
  }

  private abort(cause: Exclude<AbortCause, null>): void {
    if (this.causeValue) return;
    this.causeValue = cause;
    clearTimeout(this.timer);
    this.cancellation.abort();
  }
}
