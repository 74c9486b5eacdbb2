import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid body; the message and `param` name the field',
  401: 'Missing or wrong API key',
  404: 'Unknown collection or document',
  409: 'Conflict: the name exists, or vectors of other dimensions than the collection holds',
  413: 'Body larger than BODY_LIMIT_BYTES (or more items than a limit allows)',
  429: 'Rate limited (ours or the upstream\'s); see Retry-After',
  502: 'The upstream answered badly, could not be reached, or rejected the configured key',
  503: 'Not configured (no upstream key), overloaded, or (retrieval) the vector store unavailable; see Retry-After',
  504: 'The upstream did not answer in time',
};

/** Documents the OpenAI-shaped error body for the given statuses. */
export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorResponseDto),
    ...statuses.map((status) => ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponseDto })),
  );
}
