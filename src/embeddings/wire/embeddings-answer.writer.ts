import type { EmbedResult } from '../embeddings.service.js';

/**
 * The `/embeddings` answer serialised from the vectors' stored bytes: the JSON around them is a few
 * small strings, each vector's text as it is kept (the upstream's own); the parts are copied once,
 * into the answer's buffer (answerBody). No vector is turned into numbers and back, and no
 * framework serialiser walks it.
 */
export function nativeAnswer(result: EmbedResult): Array<Buffer | string> {
  const parts: Array<Buffer | string> = ['{"embeddings":['];
  result.embeddings.forEach((vector, i) => {
    if (i > 0) parts.push(',');
    parts.push(vector.jsonBytes());
  });
  parts.push(`],"model":${JSON.stringify(result.model)}${usageField(result)}}`);
  return parts;
}

function usageField(result: EmbedResult): string {
  return result.usage ? `,"usage":${JSON.stringify(result.usage)}` : '';
}
