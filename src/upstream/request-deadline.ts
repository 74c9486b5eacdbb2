import { AbortCause } from './upstream-error.mapper.js';

/** Who tells us the client went away (a RequestContext). */
export interface ClientCloseSource {
  onClientClose(listener: () => void): () => void;
}

/**
 * One AbortSignal per upstream call that fires on whichever comes first: the deadline, the idle
 * gap of a stream (the timer is refreshed on every chunk), or the client going away.
 */
export class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private causeValue: AbortCause = null;
  private idle = false;

  private readonly unsubscribe: () => void;

  constructor(client: ClientCloseSource, timeoutMs: number) {
    this.timer = setTimeout(() => this.abort(this.idle ? 'idle' : 'timeout'), timeoutMs);
    this.unsubscribe = client.onClientClose(() => this.abort('client'));
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
    this.unsubscribe();
  }

  private abort(cause: Exclude<AbortCause, null>): void {
    if (this.causeValue) return;
    this.causeValue = cause;
    clearTimeout(this.timer);
    this.controller.abort();
  }
}
