import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { MetricsService } from '../metrics/metrics.service.js';

/**
 * The requests in progress (except health/readiness/metrics probes): counted for MAX_IN_FLIGHT,
 * awaited by the graceful drain, cancelled when its grace period runs out.
 */
@Injectable()
export class RequestTracker {
  private readonly active = new Set<RequestContext>();
  private idleWaiters: Array<() => void> = [];
  private drainingSince: number | null = null;

  constructor(metrics: MetricsService) {
    metrics.gauge('ballast_http_requests_in_flight', 'Requests in progress (probes excluded)', () => this.active.size);
  }

  get inFlight(): number {
    return this.active.size;
  }

  get draining(): boolean {
    return this.drainingSince !== null;
  }

  start(ctx: RequestContext): void {
    this.active.add(ctx);
  }

  finish(ctx: RequestContext): void {
    if (!this.active.delete(ctx) || this.active.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  startDraining(): void {
    this.drainingSince ??= Date.now();
  }

  /** Resolves true once nothing is in flight, or false after `timeoutMs`. */
  whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(wake);
    });
  }

  /** Ends the work of every request still in flight (streams get an error event, others a 503). */
  cancelAll(): number {
    const count = this.active.size;
    for (const ctx of [...this.active]) ctx.cancel('shutdown');
    return count;
  }
}
