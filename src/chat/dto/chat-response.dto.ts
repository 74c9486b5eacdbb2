import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SearchFallbackDto } from '../../retrieval/dto/search.dto.js';

export class UsageDto {
  @ApiProperty({ example: 12 }) prompt_tokens!: number;
  @ApiProperty({ example: 6 }) completion_tokens!: number;
  @ApiProperty({ example: 18 }) total_tokens!: number;
}

export class ChatSourceDto {
  @ApiProperty({ description: 'Document id', example: 'refund-policy' }) id!: string;
  @ApiProperty({ example: 0 }) chunk!: number;
  @ApiProperty({ example: 0.032 }) score!: number;
  @ApiProperty({ example: { section: 'billing' } }) metadata!: Record<string, unknown>;
}

export class ChatResponseDto {
  @ApiProperty({ example: 'Hello there, nice to meet!' })
  content!: string;

  @ApiProperty({ description: 'The model that answered, as the upstream reports it', example: 'gpt-4o-mini-2024-07-18' })
  model!: string;

  @ApiPropertyOptional({ type: UsageDto })
  usage?: UsageDto;

  @ApiPropertyOptional({ type: [ChatSourceDto], description: 'With `retrieval`: the passages given to the model, numbered [1], [2], ... in that order' })
  sources?: ChatSourceDto[];

  @ApiPropertyOptional({ type: SearchFallbackDto, description: "With `retrieval`: present when the passages came from text search alone, the query's embedding having failed" })
  retrieval_fallback?: SearchFallbackDto;
}

/** With `retrieval`, a stream's first event (before any token). */
export class ChatSourcesEventDto {
  @ApiProperty({ type: [ChatSourceDto] }) sources!: ChatSourceDto[];
  @ApiPropertyOptional({ type: SearchFallbackDto, description: 'As in a whole answer' }) retrieval_fallback?: SearchFallbackDto;
}

export class ChatDeltaDto {
  @ApiProperty({ description: 'The next piece of the answer', example: 'Hello' })
  content!: string;
}
