import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ChatMessageDto } from './chat-message.dto.js';

export class ChatRetrievalDto {
  @ApiProperty({ description: 'Collection to search for passages (with the last user message as the query)', example: 'help-center' })
  collection!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 5, example: 4, type: 'integer' })
  top_k?: number;

  @ApiPropertyOptional({ description: 'Metadata filter, as in search: `{"key": value}`, `{"key": {"$in": [...]}}`', example: { lang: 'en' } })
  filter?: Record<string, unknown>;
}

/**
 * Documentation (OpenAPI) of a chat request. The rules are enforced by the route schema
 * CHAT_REQUEST_SCHEMA (chat-request.schema.ts, ajv in Fastify), not by class-validator.
 */
export class ChatRequestDto {
  @ApiProperty({
    type: [ChatMessageDto],
    minItems: 1,
    maxItems: 4096,
    example: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello in five words.' },
    ],
  })
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({ description: 'Upstream model; CHAT_MODEL when omitted', example: 'gpt-4o-mini', minLength: 1 })
  model?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0.2 })
  temperature?: number;

  @ApiPropertyOptional({ minimum: 1, example: 256, type: 'integer' })
  max_tokens?: number;

  @ApiPropertyOptional({
    type: ChatRetrievalDto,
    description: 'Grounded answer: passages found for the last user message go to the model, which is told to answer from them and cite them; the answer carries `sources` (and `retrieval_fallback` when the query could not be embedded and text search alone found them)',
  })
  retrieval?: ChatRetrievalDto;
}
