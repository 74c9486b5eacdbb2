import { ApiError, ClientClosedError, InvalidRequestError, NotConfiguredError } from '../common/errors/index.js';
import { UpstreamFailureError } from './errors/upstream-failure.error.js';
import { UpstreamRateLimitedError } from './errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from './errors/upstream-timeout.error.js';
import { malformedUpstreamResponse, mapTransportError, mapUpstreamStatus } from './upstream-error.mapper.js';

const openAiError = (fields: Record<string, unknown>): string => JSON.stringify({ error: fields });

function withCode(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code }, extra);
}

describe(mapUpstreamStatus.name, () => {
  describe('5xx', () => {
    it.each([500, 502, 503, 504, 520])('HTTP %i → 502 upstream_error', (status) => {
      const error = mapUpstreamStatus(status, openAiError({ message: 'The server had an error', type: 'server_error' }));
      expect(error).toBeInstanceOf(UpstreamFailureError);
      expect(error.status).toBe(502);
      expect(error.type).toBe('upstream_error');
      expect(error.code).toBe('upstream_http_error');
      expect(error.message).toContain(`HTTP ${status}`);
      expect((error as UpstreamFailureError).upstreamStatus).toBe(status);
      expect(error.headers).toEqual({});
    });

    it('does not relay the upstream 5xx body text', () => {
      const error = mapUpstreamStatus(500, 'Traceback: internal secret at /srv/app.py line 42');
      expect(error.message).not.toContain('secret');
      expect(error.toBody().error.message).not.toContain('Traceback');
    });

    it('does not turn upstream 503 into our own overloaded 503', () => {
      expect(mapUpstreamStatus(503, '').status).toBe(502);
    });
  });

  describe('401/403: our key is rejected', () => {
    const key = 'sk-proj-ABCDEF0123456789secret';

    it.each([401, 403])('HTTP %i → 502, blaming the configured key without including it', (status) => {
      const upstreamBody = openAiError({
        message: `Incorrect API key provided: ${key}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
      const error = mapUpstreamStatus(status, upstreamBody);
      expect(error).toBeInstanceOf(UpstreamFailureError);
      expect(error.status).toBe(502);
      expect(error.type).toBe('upstream_error');
      expect(error.code).toBe('upstream_auth_failed');
      expect(error.message).toMatch(/rejected the configured API key/);
      expect(error.message).toContain('OPENAI_API_KEY');
      expect(error.message).not.toContain(key);
      expect(error.message).not.toContain('sk-');
      expect(JSON.stringify(error.toBody())).not.toContain(key);
    });

    it('is not a 401 for our own client (their key is not the problem)', () => {
      expect(mapUpstreamStatus(401, '').status).not.toBe(401);
    });
  });

  describe('4xx: the caller’s request was refused', () => {
    it.each([400, 404, 422])('HTTP %i with an OpenAI-style body → 400 carrying message, param and code', (status) => {
      const error = mapUpstreamStatus(
        status,
        openAiError({
          message: 'The model `gpt-9` does not exist or you do not have access to it.',
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        }),
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.status).toBe(400);
      expect(error.type).toBe('invalid_request_error');
      expect(error.toBody()).toEqual({
        error: {
          message: 'The model `gpt-9` does not exist or you do not have access to it.',
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      });
    });

    it('null/empty/non-string param and code become null', () => {
      const error = mapUpstreamStatus(400, openAiError({ message: 'bad', param: '', code: 42 }));
      expect(error.param).toBeNull();
      expect(error.code).toBeNull();
    });

    it('a string `error` field is the message', () => {
      expect(mapUpstreamStatus(400, JSON.stringify({ error: 'bad request, plainly' })).message).toBe('bad request, plainly');
    });

    it('a non-JSON body is relayed as trimmed text', () => {
      const error = mapUpstreamStatus(400, '  Bad Request: the body could not be read \n');
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.status).toBe(400);
      expect(error.message).toBe('Bad Request: the body could not be read');
      expect(error.param).toBeNull();
      expect(error.code).toBeNull();
    });

    it('an empty body gets a generic message naming the upstream status', () => {
      const error = mapUpstreamStatus(404, '');
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.message).toBe('The upstream rejected the request (HTTP 404)');
    });

    it('JSON without a usable message falls back to the generic message', () => {
      expect(mapUpstreamStatus(400, openAiError({ message: 12, type: 'x' })).message).toBe('The upstream rejected the request (HTTP 400)');
    });

    it('truncates a huge upstream message to at most 1000 characters', () => {
      const huge = 'x'.repeat(100_000);
      const fromJson = mapUpstreamStatus(400, openAiError({ message: huge }));
      const fromText = mapUpstreamStatus(400, huge);
      expect(fromJson.message.length).toBeLessThanOrEqual(1000);
      expect(fromJson.message.length).toBeGreaterThan(0);
      expect(fromText.message.length).toBeLessThanOrEqual(1000);
    });

    it('408 is an upstream timeout, not the caller’s fault', () => {
      const error = mapUpstreamStatus(408, '');
      expect(error).toBeInstanceOf(UpstreamFailureError);
      expect(error.status).toBe(502);
      expect(error.code).toBe('upstream_timeout');
    });
  });

  describe('429', () => {
    it('→ 429 rate_limit_error keeping Retry-After', () => {
      const error = mapUpstreamStatus(429, openAiError({ message: 'Rate limit reached for requests', code: 'rate_limit_exceeded' }), '7');
      expect(error).toBeInstanceOf(UpstreamRateLimitedError);
      expect(error.status).toBe(429);
      expect(error.type).toBe('rate_limit_error');
      expect(error.code).toBe('upstream_rate_limited');
      expect(error.message).toBe('Rate limit reached for requests');
      expect(error.headers).toEqual({ 'retry-after': '7' });
    });

    it('has no Retry-After header when the upstream gave none', () => {
      const error = mapUpstreamStatus(429, '');
      expect(error.status).toBe(429);
      expect(error.headers).toEqual({});
      expect(error.message).toBe('The upstream is rate limiting requests');
    });

    it('has no Retry-After header for an empty value', () => {
      expect(mapUpstreamStatus(429, '', '').headers).toEqual({});
    });

    it('truncates a huge rate-limit message', () => {
      expect(mapUpstreamStatus(429, openAiError({ message: 'y'.repeat(5000) })).message.length).toBeLessThanOrEqual(1000);
    });
  });
});

describe(malformedUpstreamResponse.name, () => {
  it('is a 502 upstream_malformed_response with the detail', () => {
    const error = malformedUpstreamResponse('body is not valid JSON');
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_malformed_response');
    expect(error.message).toContain('body is not valid JSON');
  });
});

describe(mapTransportError.name, () => {
  const timeoutMs = 1234;

  describe('abort causes win over the error itself', () => {
    it('client → ClientClosedError', () => {
      const error = mapTransportError(new DOMException('aborted', 'AbortError'), 'client', timeoutMs);
      expect(error).toBeInstanceOf(ClientClosedError);
      expect(error).not.toBeInstanceOf(ApiError);
    });

    it('timeout → 504 naming the timeout', () => {
      const error = mapTransportError(new DOMException('aborted', 'AbortError'), 'timeout', timeoutMs);
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect((error as ApiError).status).toBe(504);
      expect((error as ApiError).type).toBe('timeout_error');
      expect(error.message).toBe('Upstream did not answer within 1234 ms');
    });

    it('idle → 504 naming the idle gap', () => {
      const error = mapTransportError(new Error('terminated'), 'idle', timeoutMs);
      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect((error as ApiError).status).toBe(504);
      expect(error.message).toBe('Upstream stream was idle for more than 1234 ms');
    });

    it('client wins even over an ApiError', () => {
      expect(mapTransportError(new NotConfiguredError('x'), 'client', timeoutMs)).toBeInstanceOf(ClientClosedError);
    });
  });

  it('passes an ApiError through unchanged', () => {
    const original = new InvalidRequestError('bad model', { param: 'model' });
    expect(mapTransportError(original, null, timeoutMs)).toBe(original);
  });

  it('ECONNREFUSED on the error → 502 upstream_unreachable', () => {
    const error = mapTransportError(withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), null, timeoutMs);
    expect(error).toBeInstanceOf(UpstreamFailureError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).code).toBe('upstream_unreachable');
    expect(error.message).toMatch(/connection refused/);
    // No internal address leaks into the message.
    expect(error.message).not.toContain('127.0.0.1');
  });

  it('ECONNREFUSED on error.cause (undici fetch failed) → 502 upstream_unreachable', () => {
    const error = mapTransportError(new TypeError('fetch failed', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') }), null, timeoutMs);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).code).toBe('upstream_unreachable');
  });

  it('looks past axios ERR_NETWORK / ERR_BAD_RESPONSE codes to the cause', () => {
    const axiosLike = withCode('Network Error', 'ERR_NETWORK', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') });
    expect((mapTransportError(axiosLike, null, timeoutMs) as ApiError).code).toBe('upstream_unreachable');
  });

  it.each(['ENOTFOUND', 'EAI_AGAIN'])('%s → 502 could not resolve', (code) => {
    const error = mapTransportError(withCode(`getaddrinfo ${code} upstream.internal`, code), null, timeoutMs);
    expect((error as ApiError).status).toBe(502);
    expect(error.message).toBe('Could not resolve the upstream host');
  });

  it.each(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ECONNABORTED'])('%s → 504', (code) => {
    const error = mapTransportError(withCode('timed out', code), null, timeoutMs);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as ApiError).status).toBe(504);
  });

  it('undici headers timeout nested in fetch failed → 504', () => {
    const error = mapTransportError(new TypeError('fetch failed', { cause: withCode('Headers Timeout Error', 'UND_ERR_HEADERS_TIMEOUT') }), null, timeoutMs);
    expect((error as ApiError).status).toBe(504);
  });

  it.each<[string, unknown]>([
    ['an Error without a code', new Error('socket hang up with internals /srv/secret')],
    ['an unknown code', withCode('reset', 'ECONNRESET')],
    ['a thrown string', 'boom'],
    ['undefined', undefined],
    ['null', null],
  ])('%s → 502 upstream_connection_error with a generic message', (_label, thrown) => {
    const error = mapTransportError(thrown, null, timeoutMs);
    expect(error).toBeInstanceOf(UpstreamFailureError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).code).toBe('upstream_connection_error');
    expect(error.message).toBe('The connection to the upstream failed before it answered');
  });

  it('does not loop forever on a self-referencing cause chain', () => {
    const looping = withCode('loop', 'ERR_NETWORK');
    Object.assign(looping, { cause: looping });
    expect((mapTransportError(looping, null, timeoutMs) as ApiError).code).toBe('upstream_connection_error');
  });
});
