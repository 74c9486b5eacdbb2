/**
 * JSON schema of an upsert body, checked by Fastify (ajv, compiled once at start-up) before the
 * handler runs: the rules UpsertDocumentsDto documents, without class-validator's cost, which for a
 * call of 200 documents held the event loop for 10-25 ms in one piece (profiled during ingest). The
 * document count (413 over RETRIEVAL_MAX_DOCUMENTS) and empty texts (400 naming documents[i].text)
 * are the service's checks. Unknown fields are dropped; optional fields accept null like `@IsOptional()`.
 */
export const UPSERT_DOCUMENTS_SCHEMA = {
  type: 'object',
  required: ['documents'],
  additionalProperties: false,
  properties: {
    documents: {
      type: 'array',
      items: {
        type: 'object',
        required: ['text'],
        additionalProperties: false,
        properties: {
          id: { type: ['string', 'null'], minLength: 1, maxLength: 256 },
          text: { type: 'string' },
          metadata: { type: ['object', 'null'] },
        },
      },
    },
    chunking: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        size: { type: ['integer', 'null'], minimum: 10, maximum: 32_768 },
        overlap: { type: ['integer', 'null'], minimum: 0, maximum: 16_384 },
        unit: { type: ['string', 'null'], enum: ['characters', 'tokens', null] },
      },
    },
  },
} as const;
