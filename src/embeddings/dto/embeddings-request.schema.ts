/**
 * JSON schema of an `/embeddings` body, checked by Fastify (ajv, compiled once at start-up) before
 * the handler runs: the rules EmbeddingsRequestDto documents, without class-validator's and the
 * pipe's cost on a route that takes many calls a second (~0.1 ms of a 64-text call, profiled). The
 * texts themselves (count, non-empty strings, length; named by index) are EmbeddingsService's
 * checks, against the configured limits. Unknown fields are dropped; `model` accepts null like
 * `@IsOptional()`. Failures become OpenAI-shaped 400s naming the field (schema-validation.ts).
 */
export const EMBEDDINGS_REQUEST_SCHEMA = {
  type: 'object',
  required: ['texts'],
  additionalProperties: false,
  properties: {
    texts: { type: 'array' },
    model: { type: ['string', 'null'], minLength: 1 },
  },
} as const;
