import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  InternalServerErrorException,
  NotFoundException,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { UpstreamFailureError } from '../../upstream/errors/upstream-failure.error.js';
import { UpstreamRateLimitedError } from '../../upstream/errors/upstream-rate-limited.error.js';
import { UpstreamTimeoutError } from '../../upstream/errors/upstream-timeout.error.js';
import { ClientClosedError } from './client-closed.error.js';
import { toErrorResponse } from './error-response.js';
import { InternalError } from './internal.error.js';
import { InvalidRequestError } from './invalid-request.error.js';
import { NotConfiguredError } from './not-configured.error.js';

const context = { bodyLimitBytes: 4096 };

/** An error shaped like the ones Fastify's body parser and limits throw. */
function fastifyError(message: string, statusCode: number, code?: string, base: Error = new Error(message)): Error {
  return Object.assign(base, { statusCode }, code === undefined ? {} : { code });
}

describe(toErrorResponse.name, () => {
  describe('unknown errors', () => {
    it('become a bare 500 internal_error that never carries the original message', () => {
      const secret = 'connect to postgres://admin:hunter2@db.internal failed';
      const response = toErrorResponse(new Error(secret), context);
      expect(response).toStrictEqual({
        status: 500,
        headers: {},
        body: { error: { message: 'Internal server error', type: 'internal_error', param: null, code: null } },
      });
      expect(JSON.stringify(response)).not.toContain('hunter2');
    });

    it.each<[string, unknown]>([
      ['a TypeError', new TypeError("Cannot read properties of null (reading 'error')")],
      ['a thrown string', 'boom: secret detail'],
      ['undefined', undefined],
      ['null', null],
      ['a plain object with a statusCode (not an Error)', { statusCode: 400, message: 'pretend' }],
      ['a Fastify-like 5xx error', fastifyError('internal parser crash /srv/x', 500, 'FST_ERR_X')],
      ['a ClientClosedError', new ClientClosedError()],
    ])('%s → 500 with the generic message', (_label, thrown) => {
      const response = toErrorResponse(thrown, context);
      expect(response.status).toBe(500);
      expect(response.headers).toEqual({});
      expect(response.body.error).toEqual({ message: 'Internal server error', type: 'internal_error', param: null, code: null });
    });
  });

  describe('ApiError subclasses', () => {
    it('InvalidRequestError → 400 with param and code', () => {
      const response = toErrorResponse(new InvalidRequestError('messages must not be empty', { param: 'messages', code: 'empty' }), context);
      expect(response).toStrictEqual({
        status: 400,
        headers: {},
        body: { error: { message: 'messages must not be empty', type: 'invalid_request_error', param: 'messages', code: 'empty' } },
      });
    });

    it('InvalidRequestError with a custom status keeps it', () => {
      expect(toErrorResponse(new InvalidRequestError('too big', { status: 413 }), context).status).toBe(413);
    });

    it('NotConfiguredError → 503 not_configured_error', () => {
      const response = toErrorResponse(new NotConfiguredError('OPENAI_API_KEY is not set'), context);
      expect(response.status).toBe(503);
      expect(response.body.error).toEqual({ message: 'OPENAI_API_KEY is not set', type: 'not_configured_error', param: null, code: 'not_configured' });
    });

    it('InternalError → 500 internal_error with its own (deliberate) message', () => {
      const response = toErrorResponse(new InternalError('Model failed to load'), context);
      expect(response.status).toBe(500);
      expect(response.body.error).toEqual({ message: 'Model failed to load', type: 'internal_error', param: null, code: null });
    });

    it('UpstreamFailureError → 502 upstream_error, without the upstream status', () => {
      const response = toErrorResponse(new UpstreamFailureError('The upstream failed (HTTP 500)', 'upstream_http_error', 500), context);
      expect(response.status).toBe(502);
      expect(response.body).toStrictEqual({
        error: { message: 'The upstream failed (HTTP 500)', type: 'upstream_error', param: null, code: 'upstream_http_error' },
      });
    });

    it('UpstreamRateLimitedError → 429 with Retry-After', () => {
      const response = toErrorResponse(new UpstreamRateLimitedError('slow down', '12'), context);
      expect(response.status).toBe(429);
      expect(response.headers).toEqual({ 'retry-after': '12' });
      expect(response.body.error).toEqual({ message: 'slow down', type: 'rate_limit_error', param: null, code: 'upstream_rate_limited' });
    });

    it('UpstreamTimeoutError → 504 timeout_error', () => {
      const response = toErrorResponse(new UpstreamTimeoutError(400), context);
      expect(response.status).toBe(504);
      expect(response.body.error).toEqual({
        message: 'Upstream did not answer within 400 ms',
        type: 'timeout_error',
        param: null,
        code: 'upstream_timeout',
      });
    });
  });

  describe('HttpException', () => {
    it('404 becomes "Unknown route: ..."', () => {
      const response = toErrorResponse(new NotFoundException('Cannot GET /v1/nope'), context);
      expect(response.status).toBe(404);
      expect(response.headers).toEqual({});
      expect(response.body.error).toEqual({ message: 'Unknown route: GET /v1/nope', type: 'invalid_request_error', param: null, code: null });
    });

    it('a 404 not about a route keeps its message', () => {
      expect(toErrorResponse(new NotFoundException('Model not found'), context).body.error.message).toBe('Model not found');
    });

    it.each<[HttpException, number, string]>([
      [new BadRequestException('bad'), 400, 'invalid_request_error'],
      [new UnauthorizedException('who?'), 401, 'authentication_error'],
      [new ForbiddenException('no'), 403, 'authentication_error'],
      [new HttpException('slow down', HttpStatus.TOO_MANY_REQUESTS), 429, 'rate_limit_error'],
      [new ServiceUnavailableException('busy'), 503, 'overloaded_error'],
      [new HttpException('late', HttpStatus.GATEWAY_TIMEOUT), 504, 'timeout_error'],
      [new InternalServerErrorException('oops'), 500, 'internal_error'],
      [new HttpException('teapot', 418), 418, 'invalid_request_error'],
    ])('%s → %i %s', (exception, status, type) => {
      const response = toErrorResponse(exception, context);
      expect(response.status).toBe(status);
      expect(response.body.error.type).toBe(type);
      expect(response.body.error.message).toBe(exception.message);
    });

    it('ignores a cause that is not a Fastify error', () => {
      const response = toErrorResponse(new BadRequestException('bad input', { cause: new Error('inner detail') }), context);
      expect(response.status).toBe(400);
      expect(response.body.error.message).toBe('bad input');
    });
  });

  describe('Fastify errors', () => {
    it('413 names the limit and BODY_LIMIT_BYTES', () => {
      const response = toErrorResponse(fastifyError('Request body is too large', 413, 'FST_ERR_CTP_BODY_TOO_LARGE'), context);
      expect(response).toStrictEqual({
        status: 413,
        headers: {},
        body: {
          error: {
            message: 'Request body is larger than the limit of 4096 bytes (BODY_LIMIT_BYTES)',
            type: 'invalid_request_error',
            param: null,
            code: 'body_too_large',
          },
        },
      });
    });

    it('413 reports the configured limit', () => {
      expect(toErrorResponse(fastifyError('too large', 413), { bodyLimitBytes: 1_048_576 }).body.error.message).toContain('1048576 bytes');
    });

    it('invalid JSON (a SyntaxError with statusCode 400) → 400 invalid_json', () => {
      const syntax = fastifyError('Unexpected token } in JSON at position 12', 400, undefined, new SyntaxError('Unexpected token } in JSON at position 12'));
      const response = toErrorResponse(syntax, context);
      expect(response.status).toBe(400);
      expect(response.body.error).toEqual({
        message: 'Malformed JSON body: Unexpected token } in JSON at position 12',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      });
    });

    it('an empty JSON body (FST_ERR_CTP_EMPTY_JSON_BODY) → 400 invalid_json', () => {
      const error = fastifyError("Body cannot be empty when content-type is set to 'application/json'", 400, 'FST_ERR_CTP_EMPTY_JSON_BODY');
      const response = toErrorResponse(error, context);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_json');
      expect(response.body.error.message).toMatch(/^Malformed JSON body: /);
    });

    it('another 4xx keeps its status and message, without a code', () => {
      const error = fastifyError('Unsupported Media Type: text/plain', 415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE');
      const response = toErrorResponse(error, context);
      expect(response.status).toBe(415);
      expect(response.body.error).toEqual({ message: 'Unsupported Media Type: text/plain', type: 'invalid_request_error', param: null, code: null });
    });
  });

  describe('HttpException wrapping a Fastify error via cause', () => {
    it('413 is answered as the Fastify error', () => {
      const wrapped = new PayloadTooLargeException('Payload Too Large', { cause: fastifyError('Request body is too large', 413, 'FST_ERR_CTP_BODY_TOO_LARGE') });
      const response = toErrorResponse(wrapped, context);
      expect(response.status).toBe(413);
      expect(response.body.error.code).toBe('body_too_large');
      expect(response.body.error.message).toContain('BODY_LIMIT_BYTES');
    });

    it('invalid JSON is answered as the Fastify error', () => {
      const cause = fastifyError('Unexpected end of JSON input', 400, undefined, new SyntaxError('Unexpected end of JSON input'));
      const response = toErrorResponse(new BadRequestException('Bad Request', { cause }), context);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_json');
      expect(response.body.error.message).toBe('Malformed JSON body: Unexpected end of JSON input');
    });

    it('a wrapped Fastify 5xx does not leak its message', () => {
      const response = toErrorResponse(new InternalServerErrorException('x', { cause: fastifyError('secret /srv/path', 500) }), context);
      expect(response.status).toBe(500);
      expect(response.body.error.message).toBe('Internal server error');
    });
  });
});
