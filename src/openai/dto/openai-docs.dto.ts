import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/*
 * Documentation shapes for the /v1 routes (OpenAI's wire format). They are not validation DTOs:
 * /v1 bodies are checked by openai-request.ts and otherwise passed through untouched, so that every
 * OpenAI parameter (tools, response_format, seed, ...) reaches the upstream.
 */

export class OpenAiChatCompletionRequestDoc {
  @ApiProperty({ example: [{ role: 'user', content: 'Say hello in five words.' }] })
  messages!: object[];

  @ApiPropertyOptional({ description: 'CHAT_MODEL when omitted', example: 'gpt-4o-mini' })
  model?: string;

  @ApiPropertyOptional({ description: 'true: `text/event-stream` of `chat.completion.chunk` events, then `data: [DONE]`' })
  stream?: boolean;

  @ApiPropertyOptional({ example: { include_usage: true } })
  stream_options?: object;

  @ApiPropertyOptional({ description: 'Any other OpenAI parameter is passed to the upstream as sent', example: 0.2 })
  temperature?: number;
}

export class OpenAiEmbeddingsRequestDoc {
  @ApiProperty({ oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], example: ['first text', 'second text'] })
  input!: string | string[];

  @ApiPropertyOptional({ description: 'EMBEDDING_MODEL when omitted', example: 'text-embedding-3-small' })
  model?: string;

  @ApiPropertyOptional({ enum: ['float', 'base64'], default: 'float' })
  encoding_format?: string;

  @ApiPropertyOptional({ description: 'Passed to the upstream (models that support it)', example: 256 })
  dimensions?: number;
}

export class OpenAiEmbeddingDoc {
  @ApiProperty({ example: 'embedding' }) object!: string;
  @ApiProperty({ example: 0 }) index!: number;
  @ApiProperty({ oneOf: [{ type: 'array', items: { type: 'number' } }, { type: 'string', description: 'base64 float32' }] })
  embedding!: number[] | string;
}

export class OpenAiEmbeddingListDoc {
  @ApiProperty({ example: 'list' }) object!: string;
  @ApiProperty({ type: [OpenAiEmbeddingDoc] }) data!: OpenAiEmbeddingDoc[];
  @ApiProperty({ example: 'text-embedding-3-small' }) model!: string;
  @ApiProperty({ example: { prompt_tokens: 5, total_tokens: 5 } }) usage!: object;
}

export class OpenAiModelDoc {
  @ApiProperty({ example: 'gpt-4o-mini' }) id!: string;
  @ApiProperty({ example: 'model' }) object!: string;
  @ApiProperty({ example: 1721172741 }) created!: number;
  @ApiProperty({ example: 'openai' }) owned_by!: string;
}

export class OpenAiModelListDoc {
  @ApiProperty({ example: 'list' }) object!: string;
  @ApiProperty({ type: [OpenAiModelDoc] }) data!: OpenAiModelDoc[];
}
