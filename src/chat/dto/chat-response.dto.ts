import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class UsageDto {
  @ApiProperty({ example: 12 }) prompt_tokens!: number;
  @ApiProperty({ example: 6 }) completion_tokens!: number;
  @ApiProperty({ example: 18 }) total_tokens!: number;
}

export class ChatResponseDto {
  @ApiProperty({ example: 'Hello there, nice to meet!' })
  content!: string;

  @ApiProperty({ description: 'The model that answered, as the upstream reports it', example: 'gpt-4o-mini-2024-07-18' })
  model!: string;

  @ApiPropertyOptional({ type: UsageDto })
  usage?: UsageDto;
}

export class ChatDeltaDto {
  @ApiProperty({ description: 'The next piece of the answer', example: 'Hello' })
  content!: string;
}
