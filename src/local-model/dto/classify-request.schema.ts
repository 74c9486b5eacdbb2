/**
 * JSON schema of a classify body, checked by Fastify (ajv, compiled once) before the handler runs,
 * instead of class-validator: this route takes the most calls per second and each one is cheap, so
 * the check's cost shows. Unknown fields are dropped; the texts themselves (non-empty strings, limits,
 * named by index) are checked by ClassifierService against the configured limits.
 */
export const CLASSIFY_REQUEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    text: {},
    texts: { type: 'array' },
  },
} as const;
