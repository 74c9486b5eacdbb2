import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config.js';
import { RequestTracker } from '../lifecycle/request-tracker.js';
import { ClassifierPool } from '../local-model/classifier.pool.js';
import { ClassifierService } from '../local-model/classifier.service.js';
import { RedisConnection } from '../shared-state/redis.connection.js';
import { RetryBudget } from '../upstream/retry-budget.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { UpstreamRouter } from '../upstream/upstream.router.js';
import { StoreConnection } from '../retrieval/store/store-connection.js';

/** How long an upstream probe result is reused: /ready never sends a probe per call. */
export const UPSTREAM_PROBE_TTL_MS = 30_000;
const UPSTREAM_PROBE_TIMEOUT_MS = 2_000;

/**
 * The parts of readiness, as @nestjs/terminus indicators: a model that can serve, a classifier
 * queue that is not full, the upstreams (configured ones reachable; probed at most every 30 s, the
 * answer cached), and not shutting down. A down part names itself and why.
 */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly classifier: ClassifierService,
    private readonly pool: ClassifierPool,
    private readonly upstream: UpstreamClient,
    private readonly router: UpstreamRouter,
    private readonly tracker: RequestTracker,
    private readonly config: AppConfig,
    private readonly redis: RedisConnection,
    private readonly retryBudget: RetryBudget,
    private readonly store: StoreConnection,
  ) {}

  model(): HealthIndicatorResult<'model'> {
    const check = this.indicators.check('model');
    const state = this.classifier.state;
    if (state.state === 'ready') return check.up({ name: state.model, fallback: state.fallback });
    if (state.state === 'loading') return check.down({ state: 'loading', message: 'The classifier model is still loading' });
    return check.down({ state: 'unavailable', message: state.reason });
  }

  queue(): HealthIndicatorResult<'classifier_queue'> {
    const check = this.indicators.check('classifier_queue');
    const waitMs = this.classifier.expectedWaitMs();
    const details = {
      queued: this.classifier.queued,
      limit: this.config.classifier.maxQueue,
      // null until a full batch has been timed.
      expectedWaitMs: waitMs === undefined ? null : Math.round(waitMs),
      maxWaitMs: this.config.classifier.maxQueueWaitMs,
      batchesInFlight: this.classifier.batchesInFlight,
      threads: this.pool.threads,
      workerRestarts: this.pool.restarts,
    };
    const overloaded = this.classifier.overloaded();
    return overloaded === undefined ? check.up(details) : check.down({ ...details, message: `The classifier is overloaded: ${overloaded}` });
  }

  /**
   * Not configured is reported, not failed: local routes still serve, chat answers 503 not_configured.
   * Down only when no configured upstream answers the probe: open breakers alone do not take the
   * instance out (every instance sees the same upstreams, and the panic rule still tries them).
   */
  async upstreams(): Promise<HealthIndicatorResult<'upstream'>> {
    const check = this.indicators.check('upstream');
    const breakers = this.router.status();
    const retryBudget = this.retryBudget.snapshot();
    if (!this.upstream.configured) return check.up({ configured: false, upstreams: breakers, retryBudget });
    const probe = await this.indicators
      .check('upstream_probe')
      .attempt(async ({ signal }) => ({ results: await this.upstream.probe(signal) }))
      .withTimeout(UPSTREAM_PROBE_TIMEOUT_MS)
      .cacheFor(UPSTREAM_PROBE_TTL_MS);
    const results = (probe.upstream_probe as { results?: Array<{ name: string; reachable: boolean; error?: string }> }).results ?? [];
    const upstreams = breakers.map((b) => ({ ...b, ...results.find((r) => r.name === b.name) }));
    const usable = upstreams.some((u) => u.configured && u.reachable);
    return usable
      ? check.up({ configured: true, upstreams, retryBudget })
      : check.down({ configured: true, upstreams, retryBudget, message: 'No configured upstream is reachable' });
  }

  /**
   * Shared state is never a reason to stop serving: without Redis, limits and cache fall back to
   * this instance, so an unreachable Redis is reported as degraded while readiness stays up.
   */
  async sharedState(): Promise<HealthIndicatorResult<'redis'>> {
    const check = this.indicators.check('redis');
    if (!this.redis.configured) return check.up({ configured: false });
    try {
      const roundTripMs = await this.redis.ping();
      return check.up({ configured: true, connected: true, degraded: false, roundTripMs: Math.round(roundTripMs * 100) / 100 });
    } catch (error) {
      return check.up({
        configured: true,
        connected: this.redis.connected,
        degraded: true,
        message: `Redis unreachable or slow (${error instanceof Error ? error.message : String(error)}): rate limits use this instance's share, the embeddings cache this process only`,
      });
    }
  }

  /**
   * Reported, never failed: a vector store that is down (or still opening) fails only the retrieval
   * routes (503 with the reason), so it must not take the instance out of rotation for everything else.
   */
  vectorStore(): HealthIndicatorResult<'vector_store'> {
    const { state, backend, reason } = this.store.state;
    const details: Record<string, unknown> = { state, backend, available: state === 'up' };
    if (reason !== undefined) details.message = reason;
    return this.indicators.check('vector_store').up(details);
  }

  lifecycle(): HealthIndicatorResult<'lifecycle'> {
    const check = this.indicators.check('lifecycle');
    return this.tracker.draining ? check.down({ draining: true, message: 'The server is shutting down' }) : check.up({ draining: false });
  }
}
