import { ApiError } from './api.error.js';

export class NotConfiguredError extends ApiError {
  override readonly name = 'NotConfiguredError';
  readonly status = 503;
  readonly type = 'not_configured_error' as const;
  override readonly code = 'not_configured';
}
