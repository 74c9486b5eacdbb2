import { ApiError } from './api.error.js';

export class InternalError extends ApiError {
  /** Logged with its stack by the exception filter: where it was thrown matters. */
  protected static override readonly captureStack: boolean = true;
  override readonly name = 'InternalError';
  readonly status = 500;
  readonly type = 'internal_error' as const;

  constructor(message = 'Internal server error') {
    super(message);
  }
}
