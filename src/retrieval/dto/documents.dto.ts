import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsIn, IsInt, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength, ValidateNested } from 'class-validator';

export class DocumentInputDto {
  @ApiPropertyOptional({ description: 'Your id (1-256 characters); a new UUID when omitted. An existing id is replaced whole.', example: 'refund-policy' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  id?: string;

  @ApiProperty({ description: 'Non-empty text; long texts are split into chunks', example: 'Refunds: we send your money back within 30 days of a return.' })
  // Emptiness is checked by the service (400 naming documents[i].text, also for whitespace-only text).
  @IsString()
  text!: string;

  @ApiPropertyOptional({ description: 'Top-level keys can be filtered on in search', example: { section: 'billing', lang: 'en' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class ChunkingDto {
  @ApiPropertyOptional({ description: 'Most units per chunk (RETRIEVAL_CHUNK_SIZE characters by default)', example: 800 })
  @IsOptional()
  @IsInt()
  @Min(10)
  @Max(32_768)
  size?: number;

  @ApiPropertyOptional({ description: 'Units repeated between neighbouring chunks, in whole sentences (at most half a chunk)', example: 100 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(16_384)
  overlap?: number;

  @ApiPropertyOptional({ enum: ['characters', 'tokens'], description: 'tokens are estimated at 4 characters each', example: 'characters' })
  @IsOptional()
  @IsIn(['characters', 'tokens'])
  unit?: 'characters' | 'tokens';
}

export class UpsertDocumentsDto {
  @ApiProperty({ type: [DocumentInputDto], description: '1..RETRIEVAL_MAX_DOCUMENTS documents; more gets 413' })
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => DocumentInputDto)
  documents!: DocumentInputDto[];

  @ApiPropertyOptional({ type: ChunkingDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ChunkingDto)
  chunking?: ChunkingDto;
}

export class EmbeddingUsageDto {
  @ApiProperty({ example: 120 }) prompt_tokens!: number;
  @ApiProperty({ example: 120 }) total_tokens!: number;
}

export class UpsertedDocumentDto {
  @ApiProperty({ example: 'refund-policy' }) id!: string;
  @ApiProperty({ example: 3 }) chunks!: number;
}

export class UpsertDocumentsResponseDto {
  @ApiProperty({ example: 'help-center' }) collection!: string;
  @ApiProperty({ type: [UpsertedDocumentDto] }) documents!: UpsertedDocumentDto[];
  @ApiProperty({ description: 'Chunks sent to the embedding model; unchanged chunks keep their stored vectors', example: 1 })
  embedded_chunks!: number;
  @ApiProperty({ description: 'Chunk rows written (new or changed); chunks already stored as sent (same document, position, text and metadata) are left as they are', example: 1 })
  written_chunks!: number;
  @ApiPropertyOptional({ type: EmbeddingUsageDto, description: 'Embedding tokens, as the upstream counted them' })
  usage?: EmbeddingUsageDto;
}

export class DocumentChunkDto {
  @ApiProperty({ example: 0 }) chunk!: number;
  @ApiProperty({ example: 'Refunds: we send your money back within 30 days of a return.' }) text!: string;
}

export class DocumentDto {
  @ApiProperty({ example: 'refund-policy' }) id!: string;
  @ApiProperty({ example: { section: 'billing' } }) metadata!: Record<string, unknown>;
  @ApiProperty({ description: 'ISO 8601, UTC', example: '2026-12-05T18:00:00.000Z' }) updated_at!: string;
  @ApiProperty({ type: [DocumentChunkDto] }) chunks!: DocumentChunkDto[];
}
