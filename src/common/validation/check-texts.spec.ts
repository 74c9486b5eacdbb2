import { InvalidRequestError } from '../errors/index.js';
import { checkTexts } from './check-texts.js';

const limits = { maxInputs: 3, maxTextChars: 5, maxInputsKey: 'EMBEDDINGS_MAX_INPUTS', maxTextCharsKey: 'EMBEDDINGS_MAX_TEXT_CHARS' };

function errorOf(fn: () => unknown): InvalidRequestError {
  try {
    fn();
  } catch (error) {
    return error as InvalidRequestError;
  }
  throw new Error('expected a throw');
}

describe(checkTexts.name, () => {
  it('accepts good texts as they are', () => {
    expect(checkTexts(['a', 'bb', 'ccccc'], limits)).toEqual(['a', 'bb', 'ccccc']);
  });

  it.each([
    [[], 'texts', 'texts must contain at least 1 text'],
    [['a', 'b', 'c', 'd'], 'texts', 'texts has 4 items; at most 3 are allowed per call (EMBEDDINGS_MAX_INPUTS)'],
    [['a', 7], 'texts[1]', 'texts[1] must be a string (got number)'],
    [[{}], 'texts[0]', 'texts[0] must be a string (got object)'],
    [['a', 'b', ''], 'texts[2]', 'texts[2] must not be empty'],
    [['123456'], 'texts[0]', 'texts[0] is 6 characters long; the limit is 5 (EMBEDDINGS_MAX_TEXT_CHARS)'],
  ])('%j → 400 on %s', (texts, param, message) => {
    const error = errorOf(() => checkTexts(texts as unknown[], limits));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
    expect(error.message).toBe(message);
  });

  it('names the field it was given (input, for the OpenAI route)', () => {
    expect(errorOf(() => checkTexts(['ok', ''], limits, 'input')).param).toBe('input[1]');
  });
});
