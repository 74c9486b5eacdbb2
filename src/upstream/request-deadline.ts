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
  private timer: NodeJS.Timeout;
  private causeValue: AbortCause = null;
  private idle = false;
  /** When the stream last showed life (performance.now()); read only when the idle timer fires. */
  private lastTouch = 0;

  private readonly unsubscribe: () => void;
  private readonly startedAt = performance.now();

  constructor(
    client: CancelSource,
    private readonly timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.expire(), timeoutMs);
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
    this.lastTouch = performance.now();
    this.timer.refresh();
  }

  /**
   * Life from the upstream; only counts once streaming began (keep-alives must not extend the
   * deadline). Called for every chunk of every stream, so it only notes the time: the timer is
   * not re-armed here but when it fires (`expire`), for what is left of the gap.
   */
  touch(): void {
    if (this.idle) this.lastTouch = performance.now();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unsubscribe();
  }

  private expire(): void {
    if (!this.idle) return this.abort('timeout');
    const left = this.timeoutMs - (performance.now() - this.lastTouch);
    if (left <= 0) return this.abort('idle');
    this.timer = setTimeout(() => this.expire(), left);
  }

  private abort(cause: Exclude<AbortCause, null>): void {
    if (this.causeValue) return;
    this.causeValue = cause;
    clearTimeout(this.timer);
    this.cancellation.abort();
  }
}
