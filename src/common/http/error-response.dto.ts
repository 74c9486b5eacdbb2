import { ApiProperty } from '@nestjs/swagger';

class ErrorDetailDto {
  @ApiProperty({ example: 'messages.0.role must be one of the following values: system, user, assistant' })
  message!: string;

  @ApiProperty({
    enum: ['invalid_request_error', 'authentication_error', 'rate_limit_error', 'overloaded_error', 'not_configured_error', 'upstream_error', 'timeout_error', 'internal_error'],
    example: 'invalid_request_error',
  })
  type!: string;

  @ApiProperty({ nullable: true, type: String, example: 'messages[0].role' })
  param!: string | null;

  @ApiProperty({ nullable: true, type: String, example: null })
  code!: string | null;
}

/** Every error ballast answers, in OpenAI's shape so SDKs map it. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}
