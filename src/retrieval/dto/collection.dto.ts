import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength, ValidateIf } from 'class-validator';

export const COLLECTION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class CreateCollectionDto {
  @ApiProperty({ description: '1-128 characters: letters, digits, `.`, `_`, `-` (starting with a letter or digit)', example: 'help-center' })
  @IsString()
  @Matches(COLLECTION_NAME, { message: 'name must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit' })
  name!: string;

  @ApiPropertyOptional({
    description: 'Embedding model for its chunks and queries; EMBEDDING_MODEL when omitted; `null` = text-only (full-text search, no upstream needed)',
    example: 'text-embedding-3-small',
    nullable: true,
    type: String,
  })
  @ValidateIf((_o, value) => value !== null && value !== undefined)
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  model?: string | null;

  @ApiPropertyOptional({ description: 'Ask the model for this many dimensions (models that take `dimensions`); otherwise fixed by the first vectors', example: 256 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(16000)
  dimensions?: number;

  @ApiPropertyOptional({ description: 'Free-form JSON kept with the collection', example: { owner: 'support' } })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

export class CollectionDto {
  @ApiProperty({ example: 'help-center' }) name!: string;
  @ApiProperty({ example: 'text-embedding-3-small', nullable: true, type: String }) model!: string | null;
  @ApiProperty({ description: 'Fixed by the first vectors; null until then (and for text-only collections)', example: 1536, nullable: true, type: Number })
  dimensions!: number | null;
  @ApiProperty({ example: { owner: 'support' } }) metadata!: Record<string, unknown>;
  @ApiProperty({ example: 42 }) documents!: number;
  @ApiProperty({ example: 180 }) chunks!: number;
  @ApiProperty({ description: 'ISO 8601, UTC', example: '2026-12-05T18:00:00.000Z' }) created_at!: string;
}

export class CollectionListDto {
  @ApiProperty({ type: [CollectionDto] }) data!: CollectionDto[];
}

export class DeletedDto {
  @ApiProperty({ example: 'help-center' }) id!: string;
  @ApiProperty({ example: true }) deleted!: true;
}
