import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsArray, IsInt, IsNumber, IsOptional, IsString, Max, Min, MinLength, ValidateNested } from 'class-validator';
import { ChatMessageDto } from './chat-message.dto.js';

export class ChatRequestDto {
  @ApiProperty({
    type: [ChatMessageDto],
    example: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Say hello in five words.' },
    ],
  })
  @IsArray()
  @ArrayNotEmpty()
  @ArrayMaxSize(4096)
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
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
