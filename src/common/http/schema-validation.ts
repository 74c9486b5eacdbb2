import { InvalidRequestError } from '../errors/invalid-request.error.js';

/** One ajv error as Fastify hands it over (FST_ERR_VALIDATION's `validation` array). */
export interface SchemaProblem {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * Options for Fastify's ajv (route schemas): no type coercion ("42" stays a string and fails a
 * number rule, as with class-validator), unknown properties removed where a schema forbids them, and
 * only the first failure (the 400 names one field).
 */
export const AJV_OPTIONS = { coerceTypes: false, removeAdditional: true, allErrors: false, useDefaults: false } as const;

/** `/messages/0/role` → `messages[0].role`. */
function fieldPath(instancePath: string, extra?: unknown): string {
  const parts = instancePath.split('/').slice(1);
  if (typeof extra === 'string') parts.push(extra);
  let path = '';
  for (const raw of parts) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path ? `.${part}` : part;
  }
  return path;
}

const TYPE_WORDING: Record<string, string> = {
  array: 'must be an array',
  string: 'must be a string',
  number: 'must be a number conforming to the specified constraints',
  integer: 'must be an integer number',
  object: 'must be an object',
  boolean: 'must be a boolean value',
};

/** The wording class-validator used for the same rule, so clients see the messages they did before. */
function describe(problem: SchemaProblem, path: string): string {
  const p = problem.params;
  switch (problem.keyword) {
    case 'required':
      return `${path} is required`;
    case 'type': {
      const types = String(p.type).split(',').filter((t) => t !== 'null');
      return `${path} ${TYPE_WORDING[types[0] ?? ''] ?? `must be of type ${types.join(' or ')}`}`;
    }
    case 'enum':
      // null is allowed where a field is optional (as @IsOptional()), not a value to offer.
      return `${path} must be one of the following values: ${(p.allowedValues as unknown[]).filter((v) => v !== null).join(', ')}`;
    case 'minItems':
      return p.limit === 1 ? `${path} should not be empty` : `${path} must contain at least ${String(p.limit)} elements`;
    case 'maxItems':
      return `${path} must contain no more than ${String(p.limit)} elements`;
    case 'minLength':
      return `${path} must be longer than or equal to ${String(p.limit)} characters`;
    case 'maxLength':
      return `${path} must be shorter than or equal to ${String(p.limit)} characters`;
    case 'minimum':
      return `${path} must not be less than ${String(p.limit)}`;
    case 'maximum':
      return `${path} must not be greater than ${String(p.limit)}`;
    default:
      return `${path}: ${problem.message ?? 'is invalid'}`;
  }
}

/** Turns Fastify's schema-validation failure into our 400, naming the first bad field. */
export function schemaValidationError(problems: SchemaProblem[], context = 'body'): InvalidRequestError {
  const first = problems[0];
  if (!first) return new InvalidRequestError(`Invalid request ${context}`);
  const path = fieldPath(first.instancePath, first.keyword === 'required' ? first.params.missingProperty : undefined);
  if (!path) return new InvalidRequestError(`Request ${context} ${TYPE_WORDING[String(first.params.type)] ?? 'is invalid'}`.replace('must be an object', 'must be a JSON object'));
  return new InvalidRequestError(describe(first, path), { param: path });
}
