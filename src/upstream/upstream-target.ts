import { CircuitBreakerPolicy, CircuitState, CountBreaker, ExponentialBackoff, circuitBreaker, handleWhen, noJitterGenerator } from 'cockatiel';
import type { UpstreamSpec } from '../config/environment.schema.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

export interface BreakerOptions {
  /** Opens when more than this share (0-1) of the last `window` calls failed... */
  failureRate: number;
  window: number;
  /** ...once at least this many calls are in the window. */
  minCalls: number;
  /** The first cool-down; each failed probe doubles it, up to `maxCooldownMs`. */
  cooldownMs: number;
  maxCooldownMs: number;
  isFailure: (error: Error) => boolean;
}

/** Weight of the newest outcome in `successRate` (about the last ten calls count). */
const SUCCESS_RATE_ALPHA = 0.1;

/**
 * One upstream: where it is, its key, what it serves, and its circuit breaker (cockatiel's
 * CountBreaker): it opens on the failure *rate* over the last `window` calls, so a dead upstream is
 * caught within `minCalls` calls while one that fails at random (even half the time) keeps its
 * traffic. Open, it sheds the upstream for a cool-down; then one probe request is let through, and
 * its success closes it again, its failure reopens it for twice as long (capped).
 */
export class UpstreamTarget {
  readonly name: string;
  readonly baseUrl: string;
  readonly origin: string;
  readonly basePath: string;
  readonly apiKey: string | undefined;
  readonly weight: number | undefined;
  readonly breaker: CircuitBreakerPolicy;
  private readonly models: ReadonlySet<string> | undefined;
  private rate = 1;

  constructor(spec: UpstreamSpec, breaker: BreakerOptions) {
    this.name = spec.name;
    this.baseUrl = spec.baseUrl;
    const url = new URL(spec.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.apiKey = spec.apiKey;
    this.weight = spec.weight;
    this.models = spec.models ? new Set(spec.models) : undefined;
    this.breaker = circuitBreaker(handleWhen(breaker.isFailure), {
      halfOpenAfter: new ExponentialBackoff({
        generator: noJitterGenerator,
        initialDelay: breaker.cooldownMs,
        maxDelay: Math.max(breaker.cooldownMs, breaker.maxCooldownMs),
      }),
      breaker: new CountBreaker({
        threshold: breaker.failureRate,
        size: breaker.window,
        minimumNumberOfCalls: Math.min(breaker.minCalls, breaker.window),
      }),
    });
  }

  /** Serves `model` (every upstream without a `models` list serves every model). */
  serves(model: string | undefined): boolean {
    return this.models === undefined || model === undefined || this.models.has(model);
  }

  get breakerState(): BreakerState {
    return STATE_NAMES[this.breaker.state];
  }

  /**
   * Recent share of attempts that did not fail (a moving average; 1 before any call). Orders
   * upstreams "healthiest first" when breaker state alone cannot (several open at once).
   */
  get successRate(): number {
    return this.rate;
  }

  /** An attempt's outcome, whether it went through the breaker or around it (panic). */
  recordOutcome(ok: boolean): void {
    this.rate += SUCCESS_RATE_ALPHA * ((ok ? 1 : 0) - this.rate);
  }
}
