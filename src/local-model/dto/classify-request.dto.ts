import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsArray, IsOptional } from 'class-validator';

export class ClassifyRequestDto {
  @ApiPropertyOptional({
    description: 'One text (give `text` or `texts`, not both); non-empty, at most CLASSIFIER_MAX_TEXT_CHARS characters',
    example: 'I love how fast this is',
  })
  // Checked by ClassifierService against the configured limits.
  @IsOptional()
  text?: unknown;

  @ApiPropertyOptional({
    type: [String],
    description: '1..CLASSIFIER_MAX_INPUTS texts; a bad one is named by its index',
    example: ['Great service, thank you', 'This was a terrible experience'],
  })
  @IsOptional()
  @IsArray()
  texts?: unknown[];
}
