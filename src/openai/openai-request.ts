import { InvalidRequestError } from '../common/errors/index.js';

/**
 * Checks on OpenAI-format bodies. Only what ballast itself relies on is checked; every other field
 * is passed to the upstream as sent (the upstream knows its own parameters better than we do).
 */

export interface ChatCompletionRequest {
  /** The body as sent, with `model` filled in. */
  body: Record<string, unknown>;
  stream: boolean;
}

export interface EmbeddingsRequest {
  input: string[];
  model?: string;
  dimensions?: number;
  encodingFormat: 'float' | 'base64';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireObject(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw new InvalidRequestError('The request body must be a JSON object');
  return body;
}

function optionalModel(body: Record<string, unknown>): string | undefined {
  const model = body.model;
  if (model === undefined || model === null) return undefined;
  if (typeof model !== 'string' || model.trim() === '') throw new InvalidRequestError('model must be a non-empty string', { param: 'model' });
  return model;
}

export function checkChatCompletion(raw: unknown, defaultModel: string): ChatCompletionRequest {
  const body = requireObject(raw);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidRequestError('messages must be a non-empty array', { param: 'messages' });
  }
  messages.forEach((message, i) => {
    if (!isObject(message)) throw new InvalidRequestError(`messages[${i}] must be an object`, { param: `messages[${i}]` });
    if (typeof message.role !== 'string' || message.role === '') {
      throw new InvalidRequestError(`messages[${i}].role must be a non-empty string`, { param: `messages[${i}].role` });
    }
  });
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw new InvalidRequestError('stream must be a boolean', { param: 'stream' });
  }
  const model = optionalModel(body) ?? defaultModel;
  return { body: { ...body, model }, stream: body.stream === true };
}

export function checkEmbeddings(raw: unknown): EmbeddingsRequest {
  const body = requireObject(raw);
  const input = body.input;
  let texts: string[];
  if (typeof input === 'string') texts = [input];
  else if (Array.isArray(input)) {
    if (input.length > 0 && (typeof input[0] === 'number' || Array.isArray(input[0]))) {
      throw new InvalidRequestError('input as token arrays is not supported; send text', { param: 'input' });
    }
    texts = input as string[];
  } else {
    throw new InvalidRequestError('input must be a string or an array of strings', { param: 'input' });
  }

  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    throw new InvalidRequestError("encoding_format must be 'float' or 'base64'", { param: 'encoding_format' });
  }
  const dimensions = body.dimensions;
  if (dimensions !== undefined && dimensions !== null && !(typeof dimensions === 'number' && Number.isInteger(dimensions) && dimensions > 0)) {
    throw new InvalidRequestError('dimensions must be a positive integer', { param: 'dimensions' });
  }
  const request: EmbeddingsRequest = { input: texts, encodingFormat: format };
  const model = optionalModel(body);
  if (model !== undefined) request.model = model;
  if (typeof dimensions === 'number') request.dimensions = dimensions;
  return request;
}
