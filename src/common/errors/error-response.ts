import { HttpException } from '@nestjs/common';
import { schemaValidationError, SchemaProblem } from '../http/schema-validation.js';
import { ApiError, ErrorBody, ErrorType } from './api.error.js';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

const TYPE_BY_STATUS: Record<number, ErrorType> = {
  401: 'authentication_error',
  403: 'authentication_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

function body(message: string, type: ErrorType, param: string | null = null, code: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

function typeFor(status: number): ErrorType {
  return TYPE_BY_STATUS[status] ?? (status < 500 ? 'invalid_request_error' : 'internal_error');
}

/** Fastify's own errors (body parser, limits) carry a statusCode and a code. */
function isFastifyError(error: unknown): error is Error & { statusCode: number; code?: string } {
  return error instanceof Error && typeof (error as { statusCode?: unknown }).statusCode === 'number';
}

function isSchemaValidationError(error: unknown): error is Error & { validation: SchemaProblem[]; validationContext?: string } {
  return isFastifyError(error) && error.code === 'FST_ERR_VALIDATION' && Array.isArray((error as { validation?: unknown }).validation);
}

/**
 * The one translation of anything thrown into a status and an OpenAI-shaped body. Unknown errors
 * become a bare 500: their messages may hold internals, so they are logged, not sent.
 */
export function toErrorResponse(thrown: unknown, context: { bodyLimitBytes: number }): ErrorResponse {
  // Nest wraps Fastify's own 4xx errors (body parser, body limit) in an HttpException.
  let error = thrown instanceof HttpException && isFastifyError(thrown.cause) ? thrown.cause : thrown;
  // A route schema (ajv) rejected the request: name the field as the validation pipe would.
  if (isSchemaValidationError(error)) error = schemaValidationError(error.validation, error.validationContext);
  if (error instanceof ApiError) {
    return { status: error.status, headers: error.headers, body: error.toBody() };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const message = status === 404 ? error.message.replace(/^Cannot /, 'Unknown route: ') : error.message;
    return { status, headers: {}, body: body(message, typeFor(status)) };
  }
  if (isFastifyError(error) && error.statusCode >= 400 && error.statusCode < 500) {
    const status = error.statusCode;
    if (status === 413) {
      return {
        status,
        headers: {},
        body: body(`Request body is larger than the limit of ${context.bodyLimitBytes} bytes (BODY_LIMIT_BYTES)`, 'invalid_request_error', null, 'body_too_large'),
      };
    }
    const invalidJson = error instanceof SyntaxError || /JSON/i.test(error.code ?? '') || /JSON/.test(error.message);
    const message = invalidJson ? `Malformed JSON body: ${error.message}` : error.message;
    return { status, headers: {}, body: body(message, 'invalid_request_error', null, invalidJson ? 'invalid_json' : null) };
  }
  return { status: 500, headers: {}, body: body('Internal server error', 'internal_error') };
}
