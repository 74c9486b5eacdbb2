import { Injectable } from '@nestjs/common';
import { answerBody } from '../common/buffers/scratch-buffers.js';
import { RequestContext } from '../common/http/request-context.js';
import { EmbeddingsService } from '../embeddings/embeddings.service.js';
import { openAiAnswer } from './openai-embeddings.writer.js';
import { checkEmbeddings } from './openai-request.js';

/**
 * `/v1/embeddings` in OpenAI's format, served by the same dedupe/cache/batching path as `/embeddings`;
 * the answer is the serialised JSON, assembled from the vectors' bytes.
 */
@Injectable()
export class OpenAiEmbeddingsService {
  constructor(private readonly embeddings: EmbeddingsService) {}

  create(body: unknown, ctx: RequestContext): Promise<Buffer> {
    const request = checkEmbeddings(body);
    const format = request.encodingFormat;
    return this.embeddings.embed(
      { texts: request.input, model: request.model, dimensions: request.dimensions, field: 'input', format },
      ctx,
      (result) => answerBody(openAiAnswer(result, format), ctx),
    );
  }
}
