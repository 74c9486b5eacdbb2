import { Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../common/http/api-error-responses.decorator.js';
import type { CheckedRequest } from '../common/http/request-context.decorator.js';
import { EmbeddingsRequestDto } from './dto/embeddings-request.dto.js';
import { EMBEDDINGS_REQUEST_SCHEMA } from './dto/embeddings-request.schema.js';
import { EmbeddingsResponseDto } from './dto/embeddings-response.dto.js';
import { EmbeddingsService } from './embeddings.service.js';

@ApiTags('embeddings')
@ApiBearerAuth()
@ApiErrorResponses(400, 401, 413, 429, 502, 503, 504)
@Controller('embeddings')
export class EmbeddingsController {
  constructor(private readonly embeddings: EmbeddingsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embed a batch of texts',
    description:
      'Duplicates are embedded once, texts seen before come from an LRU cache, and the rest go upstream in batches of ' +
      'EMBEDDINGS_BATCH_SIZE (at most EMBEDDINGS_CONCURRENCY in flight), shared with concurrent calls. Vectors come back in input order.',
  })
  @ApiBody({ type: EmbeddingsRequestDto })
  @ApiResponse({ status: 200, type: EmbeddingsResponseDto })
  @Header('content-type', 'application/json; charset=utf-8')
  @RouteSchema({ body: EMBEDDINGS_REQUEST_SCHEMA })
  embed(@Req() call: CheckedRequest<EmbeddingsRequestDto>): Promise<Buffer> {
    const { texts, model } = call.body;
    return this.embeddings.answer({ texts, model: model ?? undefined }, call.ballast);
  }
}
