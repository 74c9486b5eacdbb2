import { ApiProperty } from '@nestjs/swagger';

export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/** Documentation of a message; the rules are enforced by CHAT_REQUEST_SCHEMA (chat-request.schema.ts). */
export class ChatMessageDto {
  @ApiProperty({ enum: CHAT_ROLES, example: 'user' })
  role!: ChatRole;

  @ApiProperty({ example: 'Say hello in five words.' })
  content!: string;
}
