import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsDefined, IsInt, IsNumber, IsOptional, IsString, Max, Min, MinLength, ValidateNested } from 'class-validator';
import { ChatMessageDto } from './chat-message.dto.js';

export class ChatRequestDto {
  @ApiProperty({
    type: [ChatMessageDto],
    example: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello in five words.' },
    ],
  })
  // class-validator checks bottom-up and we report the first failure: most basic rule last.
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  @ArrayMaxSize(4096)
  @ArrayNotEmpty()
  @IsArray()
  @IsDefined({ message: 'messages is required' })
  messages!: ChatMessageDto[];

  @ApiPropertyOptional({ description: 'Upstream model; CHAT_MODEL when omitted', example: 'gpt-4o-mini' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  model?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 2, example: 0.2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 1, example: 256 })
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number;
}
