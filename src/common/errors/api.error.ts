export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'rate_limit_error'
  | 'overloaded_error'
  | 'not_configured_error'
  | 'model_unavailable_error'
  | 'store_unavailable_error'
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
  /**
   * Whether instances record a stack trace. An ApiError is an answer (a 4xx, a 503 refusal, a mapped
   * upstream failure) thrown on purpose at a named point, with a message that says what happened;
   * nothing reads its stack. Capturing one walks the whole Fastify + Nest call stack: ~30 µs per
   * refused /classify call under overload, 15 % of the refusal's CPU (docs/benchmarks.md).
   * InternalError, which the exception filter logs with its stack, turns it back on.
   */
  protected static readonly captureStack: boolean = false;

  abstract readonly status: number;
  abstract readonly type: ErrorType;
  readonly param: string | null = null;
  readonly code: string | null = null;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> = {};

  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    if (!(new.target as unknown as { captureStack: boolean }).captureStack) Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
