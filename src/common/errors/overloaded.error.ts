import { ApiError } from './api.error.js';

/** More work than ballast accepts right now: answered at once, with when to come back. */
export class OverloadedError extends ApiError {
  override readonly name: string = 'OverloadedError';
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

/** The server is shutting down: new requests are refused, and work still running after SHUTDOWN_GRACE_MS is ended with this. */
export class ShuttingDownError extends OverloadedError {
  override readonly name: string = 'ShuttingDownError';
  constructor(message = 'The server is shutting down; retry on another instance') {
    super(message, { code: 'shutting_down', retryAfterSeconds: 1 });
  }
}
