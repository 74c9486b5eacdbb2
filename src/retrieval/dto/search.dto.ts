import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { EmbeddingUsageDto } from './documents.dto.js';

export const SEARCH_MODES = ['vector', 'text', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
export const MAX_TOP_K = 100;

export const FILTER_DESCRIPTION =
  'Top-level metadata keys: `{"key": value}` (equals) and `{"key": {"$in": [v1, v2]}}`, all must hold. A key no document has matches nothing.';

export class SearchRequestDto {
  @ApiProperty({ description: 'Non-empty text', example: 'how do I get my money back?' })
  // Emptiness is checked by the service (400 for whitespace-only too).
  @IsString()
  @MaxLength(8192)
  query!: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_TOP_K, default: 5, example: 5 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TOP_K)
  top_k?: number;

  @ApiPropertyOptional({ description: FILTER_DESCRIPTION, example: { section: { $in: ['billing', 'accounts'] } } })
  @IsOptional()
  filter?: unknown;

  @ApiPropertyOptional({
    enum: SEARCH_MODES,
    description: '`vector` (cosine, HNSW), `text` (full-text, any term counts), `hybrid` (both, reciprocal rank fusion). Default: hybrid, or text for a text-only collection',
    example: 'hybrid',
  })
  @IsOptional()
  @IsIn(SEARCH_MODES)
  mode?: SearchMode;
}

export class SearchResultDto {
  @ApiProperty({ description: 'Document id', example: 'refund-policy' }) id!: string;
  @ApiProperty({ example: 0 }) chunk!: number;
  @ApiProperty({ example: 'Refunds: we send your money back within 30 days of a return.' }) text!: string;
  @ApiProperty({ example: { section: 'billing' } }) metadata!: Record<string, unknown>;
  @ApiProperty({ description: 'vector: 1 - cosine distance; text: ts_rank; hybrid: the fused reciprocal-rank score', example: 0.032 })
  score!: number;
}

export class SearchFallbackDto {
  @ApiProperty({ example: 'hybrid', enum: ['hybrid'] }) from!: 'hybrid';
  @ApiProperty({ description: "The embedding failure's error code", example: 'upstream_timeout' }) code!: string;
  @ApiProperty({ example: 'Upstream did not answer within 30000 ms' }) message!: string;
}

export class SearchResponseDto {
  @ApiProperty({ description: 'The mode that answered: `text` when hybrid fell back (see `fallback`)', example: 'hybrid', enum: SEARCH_MODES }) mode!: SearchMode;
  @ApiProperty({ type: [SearchResultDto] }) results!: SearchResultDto[];
  @ApiPropertyOptional({
    type: SearchFallbackDto,
    description: "Present when hybrid search answered from its text list alone because the query's embedding failed (upstream down, timed out, rate-limited, circuit open, not configured); a `vector` search fails instead",
  })
  fallback?: SearchFallbackDto;
  @ApiPropertyOptional({ type: EmbeddingUsageDto, description: 'Tokens of the query embedding (absent when cached or text-only)' })
  usage?: EmbeddingUsageDto;
}
