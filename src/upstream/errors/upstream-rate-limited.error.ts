import { ApiError } from '../../common/errors/index.js';

export class UpstreamRateLimitedError extends ApiError {
  override readonly name = 'UpstreamRateLimitedError';
  readonly status = 429;
  readonly type = 'rate_limit_error' as const;
  override readonly code = 'upstream_rate_limited';
  override readonly headers: Record<string, string>;

  constructor(message: string, retryAfter: string | undefined) {
    super(message);
    this.headers = retryAfter ? { 'retry-after': retryAfter } : {};
  }
}
