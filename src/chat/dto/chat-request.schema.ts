import { CHAT_ROLES } from './chat-message.dto.js';

/**
 * JSON schema of a chat request body, checked by Fastify (ajv, compiled once at start-up) before the
 * handler runs: the same rules ChatRequestDto documents, at a fraction of class-validator's cost on
 * this hot route. Unknown fields are dropped (`additionalProperties: false` + ajv `removeAdditional`),
 * nothing is coerced, and optional fields accept null like class-validator's `@IsOptional()`.
 * Failures become OpenAI-shaped 400s naming the field (see schema-validation.ts).
 */
export const CHAT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['messages'],
  additionalProperties: false,
  properties: {
    messages: {
      type: 'array',
      minItems: 1,
      maxItems: 4096,
      items: {
        type: 'object',
        required: ['role', 'content'],
        additionalProperties: false,
        properties: {
          role: { type: 'string', enum: [...CHAT_ROLES] },
          content: { type: 'string' },
        },
      },
    },
    model: { type: ['string', 'null'], minLength: 1 },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    max_tokens: { type: ['integer', 'null'], minimum: 1 },
    retrieval: {
      type: ['object', 'null'],
      required: ['collection'],
      additionalProperties: false,
      properties: {
        collection: { type: 'string', minLength: 1 },
        top_k: { type: ['integer', 'null'], minimum: 1, maximum: 100 },
        // Checked by retrieval's filter parser (400 naming the key), like the search route's filter.
        filter: {},
      },
    },
  },
} as const;
