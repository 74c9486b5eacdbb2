import { performance } from 'node:perf_hooks';

export interface RetryBudgetOptions {
  /** Share (0-1) of the window's requests that may be retried. */
  ratio: number;
  /** Retries per second allowed on top of the share (a reserve of minPerSecond × window). */
  minPerSecond: number;
  windowMs: number;
}

export interface RetryBudgetSnapshot {
  /** Retries that may be taken now. */
  available: number;
  /** Requests and retries counted in the window. */
  requests: number;
  retries: number;
  ratio: number;
  minPerSecond: number;
  windowMs: number;
}

/** Slots the window is counted in: it slides in steps of a tenth. */
const SLOTS = 10;

/**
 * Bounds the retries of the whole process to a share of its recent traffic (Finagle's RetryBudget,
 * Envoy's retry_budget): every request deposits `ratio` of a retry, every retry withdraws one, over
 * a sliding window, plus a small reserve so a quiet server still retries a lone failure. Without it,
 * an upstream failing half its calls gets up to (1 + maxRetries)× the traffic exactly when it is
 * struggling, and clients that retry themselves multiply that again. (cockatiel has no budget.)
 */
export class RetryBudget {
  private readonly slotMs: number;
  private readonly requestSlots = new Float64Array(SLOTS);
  private readonly retrySlots = new Float64Array(SLOTS);
  private slot = 0;
  /** Index of the current slot in time (ms / slotMs). */
  private epoch: number;
  private requests = 0;
  private retries = 0;

  constructor(
    private readonly options: RetryBudgetOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.slotMs = options.windowMs / SLOTS;
    this.epoch = Math.floor(now() / this.slotMs);
  }

  /** A request that may later want retries. */
  recordRequest(): void {
    this.advance();
    this.requestSlots[this.slot]++;
    this.requests++;
  }

  /** Takes one retry if the budget allows it. */
  tryAcquire(): boolean {
    this.advance();
    if (this.balance() < 1) return false;
    this.retrySlots[this.slot]++;
    this.retries++;
    return true;
  }

  /**
   * Gives back a retry that was taken but not used (the upstream was skipped, the wait was cut).
   * The window may have moved on since it was taken: it comes off the newest slot that holds one.
   */
  release(): void {
    this.advance();
    for (let back = 0; back < SLOTS; back++) {
      const slot = (this.slot - back + SLOTS) % SLOTS;
      if (this.retrySlots[slot] > 0) {
        this.retrySlots[slot]--;
        this.retries--;
        return;
      }
    }
  }

  snapshot(): RetryBudgetSnapshot {
    this.advance();
    const { ratio, minPerSecond, windowMs } = this.options;
    return { available: Math.max(0, Math.floor(this.balance())), requests: this.requests, retries: this.retries, ratio, minPerSecond, windowMs };
  }

  private balance(): number {
    const reserve = (this.options.minPerSecond * this.options.windowMs) / 1000;
    return this.requests * this.options.ratio + reserve - this.retries;
  }

  /** Drops the slots that have left the window. */
  private advance(): void {
    const epoch = Math.floor(this.now() / this.slotMs);
    const steps = Math.min(epoch - this.epoch, SLOTS);
    for (let i = 0; i < steps; i++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.requests -= this.requestSlots[this.slot];
      this.retries -= this.retrySlots[this.slot];
      this.requestSlots[this.slot] = 0;
      this.retrySlots[this.slot] = 0;
    }
    if (epoch > this.epoch) this.epoch = epoch;
  }
}
