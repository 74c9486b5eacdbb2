import type { SearchResultDto } from '../retrieval/dto/search.dto.js';
import type { ChatMessageDto } from './dto/chat-message.dto.js';

/** Longest passage text given to the model; chunks are bounded already, this guards odd ones. */
const MAX_PASSAGE_CHARS = 4000;

/** The system message that gives the model the passages found and asks it to answer from them, citing them. */
export function groundingMessage(passages: SearchResultDto[]): ChatMessageDto {
  const header =
    'Answer the user using only the passages below. Cite the passages you use by their number in square brackets, like [1]. ' +
    'If the passages do not hold the answer, say that you do not know rather than guessing.';
  const body =
    passages.length === 0
      ? 'No passages were found for this question.'
      : passages.map((p, i) => `[${i + 1}] (document ${JSON.stringify(p.id)}, chunk ${p.chunk})\n${p.text.slice(0, MAX_PASSAGE_CHARS)}`).join('\n\n');
  return { role: 'system', content: `${header}\n\nPassages:\n\n${body}` };
}

/** The messages with the grounding message placed after the caller's leading system messages. */
export function withGrounding(messages: ChatMessageDto[], grounding: ChatMessageDto): ChatMessageDto[] {
  let at = 0;
  while (at < messages.length && messages[at].role === 'system') at++;
  return [...messages.slice(0, at), grounding, ...messages.slice(at)];
}
