import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class EmbeddingsUsageDto {
  @ApiProperty({ example: 9 }) prompt_tokens!: number;
  @ApiProperty({ example: 9 }) total_tokens!: number;
}

export class EmbeddingsResponseDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'array', items: { type: 'number' } },
    description: 'One vector per input text, in input order',
    example: [
      [0.0123, -0.0456, 0.0789],
      [0.0321, 0.0654, -0.0987],
    ],
  })
  embeddings!: number[][];

  @ApiProperty({ example: 'text-embedding-3-small' })
  model!: string;

  @ApiPropertyOptional({
    type: EmbeddingsUsageDto,
    description: "The inputs' tokens as the upstream counted them (texts served from cache included)",
  })
  usage?: EmbeddingsUsageDto;
}
