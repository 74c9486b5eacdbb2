import { ApiError } from './api.error.js';

/** More work than ballast accepts right now: answered at once, with when to come back. */
export class OverloadedError extends ApiError {
  override readonly name = 'OverloadedError';
  readonly status = 503;
  readonly type = 'overloaded_error' as const;
  override readonly code: string;
  override readonly headers: Record<string, string>;

  constructor(message: string, options: { code: string; retryAfterSeconds: number }) {
    super(message);
    this.code = options.code;
    this.headers = { 'retry-after': String(options.retryAfterSeconds) };
  }
}
