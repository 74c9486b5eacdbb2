import { Injectable } from '@nestjs/common';
import { ClassifierPool } from '../local-model/classifier.pool.js';
import { ClassifierService } from '../local-model/classifier.service.js';
import { RequestTracker } from '../lifecycle/request-tracker.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { UpstreamRouter, UpstreamStatus } from '../upstream/upstream.router.js';

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  /** Why not ready; absent when ready. */
  reason?: string;
  model: {
    state: 'loading' | 'ready' | 'unavailable';
    name?: string;
    fallback?: boolean;
    reason?: string;
    /** Texts waiting for a worker. */
    queued: number;
    batchesInFlight: number;
    threads: number;
    workerRestarts: number;
  };
  upstream: { configured: boolean };
  /** Each upstream and its circuit breaker. */
  upstreams: UpstreamStatus[];
  /** True while shutting down (readiness then fails, so load balancers stop sending). */
  draining: boolean;
}

/** Whether this instance can serve: some model loaded. Upstream configuration is reported, not required. */
@Injectable()
export class ReadinessService {
  constructor(
    private readonly classifier: ClassifierService,
    private readonly pool: ClassifierPool,
    private readonly upstream: UpstreamClient,
    private readonly router: UpstreamRouter,
    private readonly tracker: RequestTracker,
  ) {}

  check(): ReadinessReport {
    const state = this.classifier.state;
    const model: ReadinessReport['model'] = {
      state: state.state,
      queued: this.classifier.queued,
      batchesInFlight: this.classifier.batchesInFlight,
      threads: this.pool.threads,
      workerRestarts: this.pool.restarts,
    };
    let reason: string | undefined;
    if (state.state === 'ready') {
      model.name = state.model;
      model.fallback = state.fallback;
    } else if (state.state === 'loading') {
      reason = 'The classifier model is still loading';
    } else {
      model.reason = state.reason;
      reason = state.reason;
    }
    if (this.tracker.draining) reason = 'The server is shutting down';
    const report: ReadinessReport = {
      status: reason ? 'not_ready' : 'ready',
      model,
      upstream: { configured: this.upstream.configured },
      upstreams: this.router.status(),
      draining: this.tracker.draining,
    };
    if (reason) report.reason = reason;
    return report;
  }
}
