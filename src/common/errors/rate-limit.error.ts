import { ApiError } from './api.error.js';

/** The caller went over their own rate limit (RATE_LIMIT_RPM). */
export class RateLimitError extends ApiError {
  override readonly name = 'RateLimitError';
  readonly status = 429;
  readonly type = 'rate_limit_error' as const;
  override readonly code = 'rate_limit_exceeded';
  override readonly headers: Record<string, string>;

  constructor(message: string, headers: Record<string, string>) {
    super(message);
    this.headers = headers;
  }
}
