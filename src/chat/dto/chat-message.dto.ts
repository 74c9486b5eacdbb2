import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString } from 'class-validator';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export class ChatMessageDto {
  @ApiProperty({ enum: CHAT_ROLES, example: 'user' })
  @IsIn(CHAT_ROLES)
  role!: ChatRole;

  @ApiProperty({ example: 'Say hello in five words.' })
  @IsString()
  content!: string;
}
