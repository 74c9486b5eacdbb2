import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { isBreakerFailure } from './failover.js';
import { BreakerState, UpstreamTarget } from './upstream-target.js';

export interface UpstreamStatus {
  name: string;
  baseUrl: string;
  configured: boolean;
  breaker: BreakerState;
}

/**
 * Which upstreams may serve a request, in the order to try them. Without weights: the UPSTREAMS
 * order (the first healthy one takes the traffic, the rest are fallbacks). With weights: the first
 * pick is drawn by weight among those that serve the model, the others follow in list order as
 * fallbacks. Upstreams whose breaker is open are skipped by the caller (the breaker says so itself),
 * unless fewer than half are healthy (failover's panic rule).
 */
@Injectable()
export class UpstreamRouter {
  readonly targets: readonly UpstreamTarget[];
  private readonly weighted: boolean;

  constructor(config: AppConfig) {
    const { targets, breaker } = config.upstream;
    this.targets = targets.map((spec) => new UpstreamTarget(spec, { ...breaker, isFailure: isBreakerFailure }));
    this.weighted = this.targets.some((t) => t.weight !== undefined);
  }

  /** True when at least one upstream has a key. */
  get configured(): boolean {
    return this.targets.some((t) => t.apiKey !== undefined);
  }

  candidates(model: string | undefined, random: () => number = Math.random): UpstreamTarget[] {
    const serving = this.targets.filter((t) => t.apiKey !== undefined && t.serves(model));
    if (!this.weighted || serving.length < 2) return serving;
    const healthy = serving.filter((t) => t.breakerState === 'closed');
    const pool = healthy.length > 0 ? healthy : serving;
    const total = pool.reduce((sum, t) => sum + (t.weight ?? 1), 0);
    let draw = random() * total;
    let first = pool[pool.length - 1];
    for (const t of pool) {
      draw -= t.weight ?? 1;
      if (draw < 0) {
        first = t;
        break;
      }
    }
    return [first, ...serving.filter((t) => t !== first)];
  }

  status(): UpstreamStatus[] {
    return this.targets.map((t) => ({ name: t.name, baseUrl: t.baseUrl, configured: t.apiKey !== undefined, breaker: t.breakerState }));
  }
}
