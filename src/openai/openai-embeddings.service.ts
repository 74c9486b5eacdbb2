import { Injectable } from '@nestjs/common';
import { RequestContext } from '../common/http/request-context.js';
import { EmbeddingsService } from '../embeddings/embeddings.service.js';
import { checkEmbeddings } from './openai-request.js';

export interface OpenAiEmbeddingList {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** `/v1/embeddings` in OpenAI's format, served by the same dedupe/cache/batching path as `/embeddings`. */
@Injectable()
export class OpenAiEmbeddingsService {
  constructor(private readonly embeddings: EmbeddingsService) {}

  async create(body: unknown, ctx: RequestContext): Promise<OpenAiEmbeddingList> {
    const request = checkEmbeddings(body);
    const result = await this.embeddings.embed(
      { texts: request.input, model: request.model, dimensions: request.dimensions, field: 'input' },
      ctx,
    );
    const base64 = request.encodingFormat === 'base64';
    return {
      object: 'list',
      data: result.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector })),
      model: result.model,
      usage: result.usage ?? { prompt_tokens: 0, total_tokens: 0 },
    };
  }
}

/** OpenAI's base64 encoding: the vector as little-endian float32, base64. */
export function toBase64(vector: number[]): string {
  const floats = Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}
