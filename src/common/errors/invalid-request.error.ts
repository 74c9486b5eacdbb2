import { ApiError } from './api.error.js';

export class InvalidRequestError extends ApiError {
  override readonly name = 'InvalidRequestError';
  readonly status: number;
  readonly type = 'invalid_request_error' as const;
  override readonly param: string | null;
  override readonly code: string | null;

  constructor(message: string, options: { param?: string | null; code?: string | null; status?: number } = {}) {
    super(message);
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.status = options.status ?? 400;
  }
}
