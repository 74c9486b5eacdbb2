export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'rate_limit_error'
  | 'overloaded_error'
  | 'not_configured_error'
  | 'model_unavailable_error'
  | 'upstream_error'
  | 'timeout_error'
  | 'internal_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

/**
 * Base of every domain error. Services throw subclasses; the global exception filter (and the SSE
 * writer, mid-stream) turn them into a status and an OpenAI-shaped body, so SDKs map them.
 */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly type: ErrorType;
  readonly param: string | null = null;
  readonly code: string | null = null;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> = {};

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
