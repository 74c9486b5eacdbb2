import type { EmbedResult } from '../embeddings/embeddings.service.js';

/**
 * OpenAI's `list` of `embedding` objects, serialised from the vectors' stored bytes like
 * `/embeddings` (see nativeAnswer): float vectors are the upstream's own text copied in, base64 ones
 * the upstream's base64 text (or one derived once from floats) copied in.
 */
export function openAiAnswer(result: EmbedResult, format: 'float' | 'base64'): Array<Buffer | string> {
  const parts: Array<Buffer | string> = ['{"object":"list","data":['];
  result.embeddings.forEach((vector, index) => {
    const head = `${index > 0 ? ',' : ''}{"object":"embedding","index":${index},"embedding":`;
    if (format === 'base64') parts.push(`${head}"`, vector.base64Bytes(), '"}');
    else parts.push(head, vector.jsonBytes(), '}');
  });
  const usage = result.usage ?? { prompt_tokens: 0, total_tokens: 0 };
  parts.push(`],"model":${JSON.stringify(result.model)},"usage":${JSON.stringify(usage)}}`);
  return parts;
}
