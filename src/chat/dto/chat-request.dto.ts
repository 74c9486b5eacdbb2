import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ChatMessageDto } from './chat-message.dto.js';

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
}
