import { MAX_TOP_K, SEARCH_MODES } from './search.dto.js';

/**
 * JSON schema of a search body, checked by Fastify (ajv, compiled once at start-up) before the
 * handler runs: the rules SearchRequestDto documents, without the global ValidationPipe
 * (class-transformer + class-validator, ~0.1 ms of the event loop per search, profiled at c=16).
 * An empty or blank query and the filter's shape are the service's checks (400 naming the field).
 * Unknown fields are dropped; optional fields accept null like `@IsOptional()`.
 */
export const SEARCH_REQUEST_SCHEMA = {
  type: 'object',
  required: ['query'],
  additionalProperties: false,
  properties: {
    query: { type: 'string', maxLength: 8192 },
    top_k: { type: ['integer', 'null'], minimum: 1, maximum: MAX_TOP_K },
    filter: {},
    mode: { type: ['string', 'null'], enum: [...SEARCH_MODES, null] },
  },
} as const;
