import { ApiPropertyOptional } from '@nestjs/swagger';

/**
 * The classify body, for the OpenAPI document. Checked by CLASSIFY_REQUEST_SCHEMA (ajv in Fastify)
 * and, text by text, by ClassifierService against the configured limits.
 */
export class ClassifyRequestDto {
  @ApiPropertyOptional({
    description: 'One text (give `text` or `texts`, not both); non-empty, at most CLASSIFIER_MAX_TEXT_CHARS characters',
    example: 'I love how fast this is',
  })
  text?: unknown;

  @ApiPropertyOptional({
    type: [String],
    description: '1..CLASSIFIER_MAX_INPUTS texts; a bad one is named by its index',
    example: ['Great service, thank you', 'This was a terrible experience'],
  })
  texts?: unknown[];
}
