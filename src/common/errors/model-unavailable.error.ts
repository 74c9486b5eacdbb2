import { ApiError } from './api.error.js';

/** The local model cannot answer: still loading, not loadable, or its worker just died. */
export class ModelUnavailableError extends ApiError {
  override readonly name = 'ModelUnavailableError';
  readonly status = 503;
  readonly type = 'model_unavailable_error' as const;
  override readonly code: string;
  override readonly headers: Record<string, string>;

  constructor(message: string, options: { code: string; retryAfterSeconds?: number }) {
    super(message);
    this.code = options.code;
    this.headers = options.retryAfterSeconds === undefined ? {} : { 'retry-after': String(options.retryAfterSeconds) };
  }
}
