import { CircuitBreakerPolicy, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import type { UpstreamSpec } from '../config/environment.schema.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * One upstream: where it is, its key, what it serves, and its circuit breaker (cockatiel): after
 * `threshold` consecutive failures it opens and sheds the upstream for `cooldownMs`; then one probe
 * request is let through, and its success closes it again.
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

  constructor(spec: UpstreamSpec, breaker: { threshold: number; cooldownMs: number; isFailure: (error: Error) => boolean }) {
    this.name = spec.name;
    this.baseUrl = spec.baseUrl;
    const url = new URL(spec.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.apiKey = spec.apiKey;
    this.weight = spec.weight;
    this.models = spec.models ? new Set(spec.models) : undefined;
    this.breaker = circuitBreaker(handleWhen(breaker.isFailure), {
      halfOpenAfter: breaker.cooldownMs,
      breaker: new ConsecutiveBreaker(breaker.threshold),
    });
  }

  /** Serves `model` (every upstream without a `models` list serves every model). */
  serves(model: string | undefined): boolean {
    return this.models === undefined || model === undefined || this.models.has(model);
  }

  get breakerState(): BreakerState {
    return STATE_NAMES[this.breaker.state];
  }
}
