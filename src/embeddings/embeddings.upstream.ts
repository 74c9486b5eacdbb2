import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';
import { UpstreamClient } from '../upstream/upstream.client.js';
import { Embedded, EmbeddingSpec } from './embedding.types.js';

interface EmbeddingsBody {
  data?: Array<{ index?: unknown; embedding?: unknown }>;
  usage?: { prompt_tokens?: unknown };
}

/** One upstream `/embeddings` request for a batch of texts, its answer checked and put back in order. */
@Injectable()
export class EmbeddingsUpstream {
  constructor(private readonly upstream: UpstreamClient) {}

  async embed(spec: EmbeddingSpec, texts: string[], ctx: RequestContext): Promise<Embedded[]> {
    const request: Record<string, unknown> = { model: spec.model, input: texts };
    if (spec.dimensions !== undefined) request.dimensions = spec.dimensions;
    const body = await this.upstream.postJson<EmbeddingsBody>('/embeddings', request, ctx);
    return toEmbedded(body, texts);
  }
}

/** Vectors by `index`, each with its share of the batch's prompt tokens (by text length). */
export function toEmbedded(body: EmbeddingsBody, texts: string[]): Embedded[] {
  const data = body?.data;
  if (!Array.isArray(data)) throw malformedUpstreamResponse('no data array in the embeddings answer');
  if (data.length !== texts.length) {
    throw malformedUpstreamResponse(`the embeddings answer has ${data.length} items for ${texts.length} inputs`);
  }
  const vectors: number[][] = new Array<number[]>(texts.length);
  let dims = -1;
  data.forEach((item, position) => {
    const index = Number.isInteger(item?.index) ? (item.index as number) : position;
    const vector = item?.embedding;
    if (!Array.isArray(vector) || vector.length === 0 || typeof vector[0] !== 'number') {
      throw malformedUpstreamResponse(`data[${position}].embedding is not an array of numbers`);
    }
    if (dims !== -1 && vector.length !== dims) throw malformedUpstreamResponse('the embeddings in one answer differ in length');
    if (index < 0 || index >= texts.length || vectors[index] !== undefined) {
      throw malformedUpstreamResponse(`data[${position}].index ${index} is out of range or repeated`);
    }
    dims = vector.length;
    vectors[index] = vector as number[];
  });

  const promptTokens = body.usage?.prompt_tokens;
  if (typeof promptTokens !== 'number' || !Number.isFinite(promptTokens)) {
    return vectors.map((vector) => ({ vector, tokens: undefined }));
  }
  let chars = 0;
  for (const text of texts) chars += text.length;
  return vectors.map((vector, i) => ({ vector, tokens: chars === 0 ? 0 : (promptTokens * texts[i].length) / chars }));
}
