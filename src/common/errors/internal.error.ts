import { ApiError } from './api.error.js';

export class InternalError extends ApiError {
  override readonly name = 'InternalError';
  readonly status = 500;
  readonly type = 'internal_error' as const;

  constructor(message = 'Internal server error') {
    super(message);
  }
}
