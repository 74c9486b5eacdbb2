import { ApiError, ClientClosedError, InvalidRequestError, ShuttingDownError } from '../common/errors/index.js';
import { UpstreamFailureError } from './errors/upstream-failure.error.js';
import { UpstreamPoolExhaustedError } from './errors/upstream-pool-exhausted.error.js';
import { UpstreamRateLimitedError } from './errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from './errors/upstream-timeout.error.js';
import { ConnectionWaitAbortedError } from './transport/connection-wait.js';

interface UpstreamErrorFields {
  message?: unknown;
  code?: unknown;
  param?: unknown;
}

/** Longest upstream message we relay; a misbehaving upstream must not make us echo megabytes. */
const MAX_RELAYED_MESSAGE = 1_000;

function upstreamErrorFields(bodyText: string): UpstreamErrorFields {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed && typeof parsed === 'object' && 'error' in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (error && typeof error === 'object') return error as UpstreamErrorFields;
      if (typeof error === 'string') return { message: error };
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return { message: bodyText.trim() || undefined };
}

/** A JSON answer past UPSTREAM_MAX_RESPONSE_BYTES: not read further, 502 (another upstream may do better). */
export function responseTooLarge(limitBytes: number): UpstreamFailureError {
  return new UpstreamFailureError(
    `The upstream's answer is larger than UPSTREAM_MAX_RESPONSE_BYTES (${limitBytes} bytes); it was not read`,
    'upstream_response_too_large',
  );
}

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/**
 * The single mapping of an upstream's non-2xx answer to our errors. Never copies the upstream's
 * headers (beyond Retry-After) and never includes our key.
 */
export function mapUpstreamStatus(status: number, bodyText: string, retryAfter?: string): ApiError {
  const fields = upstreamErrorFields(bodyText);
  const upstreamMessage = stringOrNull(fields.message)?.slice(0, MAX_RELAYED_MESSAGE);

  if (status === 401 || status === 403) {
    return new UpstreamFailureError(
      `The upstream rejected the configured API key (HTTP ${status}); check OPENAI_API_KEY`,
      'upstream_auth_failed',
      status,
    );
  }
  if (status === 429) {
    return new UpstreamRateLimitedError(upstreamMessage ?? 'The upstream is rate limiting requests', retryAfter);
  }
  if (status >= 400 && status < 500 && status !== 408) {
    // The caller's fault (unknown model, bad parameter): pass the upstream's words through as a 400.
    return new InvalidRequestError(upstreamMessage ?? `The upstream rejected the request (HTTP ${status})`, {
      param: stringOrNull(fields.param),
      code: stringOrNull(fields.code),
    });
  }
  if (status === 408) {
    return new UpstreamFailureError('The upstream timed out the request (HTTP 408)', 'upstream_timeout', status);
  }
  return new UpstreamFailureError(`The upstream failed (HTTP ${status})`, 'upstream_http_error', status);
}

export function malformedUpstreamResponse(detail: string): UpstreamFailureError {
  return new UpstreamFailureError(`The upstream sent a malformed response: ${detail}`, 'upstream_malformed_response');
}

export type AbortCause = 'timeout' | 'idle' | 'client' | 'shutdown' | null;

/** Maps a transport failure (the request never got a usable answer) to our errors. */
export function mapTransportError(error: unknown, cause: AbortCause, timeoutMs: number): Error {
  if (cause === 'client') return new ClientClosedError();
  if (cause === 'shutdown') return new ShuttingDownError();
  // The deadline ran out while every connection was busy: say so (503), not that the upstream was slow.
  if (cause === 'timeout' && error instanceof ConnectionWaitAbortedError && error.poolFull) {
    return new UpstreamPoolExhaustedError(error.pool, error.waitedMs);
  }
  if (cause === 'timeout') return new UpstreamTimeoutError(timeoutMs);
  if (cause === 'idle') return new UpstreamTimeoutError(timeoutMs, 'stream idle');
  if (error instanceof ApiError) return error;
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') return new UpstreamFailureError('Could not connect to the upstream (connection refused)', 'upstream_unreachable');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new UpstreamFailureError('Could not resolve the upstream host', 'upstream_unreachable');
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
    return new UpstreamTimeoutError(timeoutMs);
  }
  return new UpstreamFailureError('The connection to the upstream failed before it answered', 'upstream_connection_error');
}

function errorCode(error: unknown): string | undefined {
  // undici and axios put the system code on the error or on its cause.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'ERR_BAD_RESPONSE' && code !== 'ERR_NETWORK') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
