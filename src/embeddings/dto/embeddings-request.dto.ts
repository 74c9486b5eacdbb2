import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsDefined, IsOptional, IsString, MinLength } from 'class-validator';

export class EmbeddingsRequestDto {
  @ApiProperty({
    type: [String],
    description:
      '1..EMBEDDINGS_MAX_INPUTS non-empty texts of at most EMBEDDINGS_MAX_TEXT_CHARS characters; a bad one is named by its index',
    example: ['The quick brown fox', 'jumps over the lazy dog'],
  })
  // Per-text rules depend on config, so EmbeddingsService checks them (naming the index).
  @IsArray()
  @IsDefined({ message: 'texts is required' })
  texts!: unknown[];

  @ApiPropertyOptional({ description: 'Upstream embedding model; EMBEDDING_MODEL when omitted', example: 'text-embedding-3-small' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  model?: string;
}
