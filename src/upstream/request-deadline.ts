import { AbortCause } from './upstream-error.mapper.js';

/**
 * One AbortSignal per upstream call that fires on whichever comes first: the deadline, the idle
 * gap of a stream (the timer is refreshed on every chunk), or the client going away.
 */
export class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private causeValue: AbortCause = null;
  private idle = false;

  constructor(
    private readonly clientSignal: AbortSignal,
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.abort(this.idle ? 'idle' : 'timeout'), timeoutMs);
    if (clientSignal.aborted) this.abort('client');
    else clientSignal.addEventListener('abort', this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cause(): AbortCause {
    return this.causeValue;
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
    this.clientSignal.removeEventListener('abort', this.onClientAbort);
  }

  private readonly onClientAbort = (): void => this.abort('client');

  private abort(cause: Exclude<AbortCause, null>): void {
    if (this.causeValue) return;
    this.causeValue = cause;
    clearTimeout(this.timer);
    this.controller.abort();
  }
}
