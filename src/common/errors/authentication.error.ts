import { ApiError } from './api.error.js';

/** No or wrong API key. The message never says which keys exist. */
export class AuthenticationError extends ApiError {
  override readonly name = 'AuthenticationError';
  readonly status = 401;
  readonly type = 'authentication_error' as const;
  override readonly code = 'invalid_api_key';
  override readonly headers = { 'www-authenticate': 'Bearer realm="ballast"' };
}
