import { Controller, HttpCode, Post, Req } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { InvalidRequestError } from '../common/errors/index.js';
import { ApiErrorResponses } from '../common/http/api-error-responses.decorator.js';
import type { CheckedRequest } from '../common/http/request-context.decorator.js';
import { ClassifierService } from './classifier.service.js';
import { ClassifyRequestDto } from './dto/classify-request.dto.js';
import { CLASSIFY_REQUEST_SCHEMA } from './dto/classify-request.schema.js';
import { ClassifyManyResponseDto, ClassifyOneResponseDto } from './dto/classify-response.dto.js';

/** The request whose body the route schema (CLASSIFY_REQUEST_SCHEMA) has checked. */
type ClassifyCall = CheckedRequest<Pick<ClassifyRequestDto, keyof ClassifyRequestDto>>;

@ApiTags('classify')
@ApiBearerAuth()
@ApiErrorResponses(400, 401, 413, 500, 503)
@ApiExtraModels(ClassifyOneResponseDto, ClassifyManyResponseDto)
@Controller('classify')
export class ClassifyController {
  constructor(private readonly classifier: ClassifierService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sentiment of one text or a batch, from the local model',
    description:
      '`{text}` → `{label, score, model}`; `{texts}` → `{results: [{label, score}], model}`. Runs in a worker pool in micro-batches; ' +
      'a full queue answers 503 `overloaded_error` with Retry-After at once.',
  })
  @ApiBody({ type: ClassifyRequestDto })
  @RouteSchema({ body: CLASSIFY_REQUEST_SCHEMA })
  @ApiOkResponse({ schema: { oneOf: [{ $ref: getSchemaPath(ClassifyOneResponseDto) }, { $ref: getSchemaPath(ClassifyManyResponseDto) }] } })
  classify(@Req() call: ClassifyCall): Promise<ClassifyOneResponseDto | ClassifyManyResponseDto> {
    const { body: dto, ballast: ctx } = call;
    if ((dto.text === undefined) === (dto.texts === undefined)) {
      throw new InvalidRequestError('Give either `text` (one string) or `texts` (an array of strings)', { param: 'text' });
    }
    return dto.texts !== undefined ? this.classifier.classifyMany(dto.texts, ctx) : this.classifier.classifyOne(dto.text, ctx);
  }
}
