import { OverloadedError } from '../../common/errors/index.js';

/**
 * Every connection ballast may open to the upstream stayed busy for the whole wait
 * (UPSTREAM_POOL_WAIT_MS, or the request's own deadline if that came first): 503 with Retry-After,
 * instead of a queue that grows while callers give up. Not the upstream's fault: neither retried
 * nor counted against its breaker.
 */
export class UpstreamPoolExhaustedError extends OverloadedError {
  override readonly name = 'UpstreamPoolExhaustedError';

  constructor(
    readonly pool: 'json' | 'stream',
    readonly waitedMs: number,
  ) {
    const setting = pool === 'stream' ? 'UPSTREAM_MAX_STREAMS' : 'UPSTREAM_MAX_SOCKETS';
    super(`All connections to the upstream (${setting}) stayed busy for ${Math.round(waitedMs)} ms; retry shortly`, {
      code: 'upstream_pool_exhausted',
      retryAfterSeconds: 1,
    });
  }
}
