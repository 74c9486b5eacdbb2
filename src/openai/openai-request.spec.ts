import { InvalidRequestError } from '../common/errors/index.js';
import { checkChatCompletion, checkEmbeddings } from './openai-request.js';

function paramOf(fn: () => unknown): string | null {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return (error as InvalidRequestError).param;
  }
  throw new Error('expected a throw');
}

describe(checkChatCompletion.name, () => {
  const messages = [{ role: 'user', content: 'hi' }];

  it('keeps every field, fills in the model, reads stream', () => {
    expect(checkChatCompletion({ messages, tools: [], seed: 1 }, 'dflt')).toEqual({
      body: { messages, tools: [], seed: 1, model: 'dflt' },
      stream: false,
    });
    expect(checkChatCompletion({ messages, model: 'm', stream: true }, 'dflt')).toEqual({ body: { messages, model: 'm', stream: true }, stream: true });
  });

  it.each([
    [[], null],
    ['text', null],
    [{}, 'messages'],
    [{ messages: [] }, 'messages'],
    [{ messages: ['hi'] }, 'messages[0]'],
    [{ messages: [{ content: 'x' }] }, 'messages[0].role'],
    [{ messages, model: '' }, 'model'],
    [{ messages, model: 5 }, 'model'],
    [{ messages, stream: 'yes' }, 'stream'],
  ])('%j → 400 on %s', (body, param) => {
    expect(paramOf(() => checkChatCompletion(body, 'dflt'))).toBe(param);
  });
});

describe(checkEmbeddings.name, () => {
  it('takes a string or an array, the format and dimensions', () => {
    expect(checkEmbeddings({ input: 'a' })).toEqual({ input: ['a'], encodingFormat: 'float' });
    expect(checkEmbeddings({ input: ['a', 'b'], model: 'm', encoding_format: 'base64', dimensions: 64 })).toEqual({
      input: ['a', 'b'],
      model: 'm',
      encodingFormat: 'base64',
      dimensions: 64,
    });
  });

  it.each([
    [{}, 'input'],
    [{ input: 5 }, 'input'],
    [{ input: [1, 2, 3] }, 'input'],
    [{ input: [[1, 2]] }, 'input'],
    [{ input: 'a', encoding_format: 'int8' }, 'encoding_format'],
    [{ input: 'a', dimensions: 0 }, 'dimensions'],
    [{ input: 'a', dimensions: 1.5 }, 'dimensions'],
  ])('%j → 400 on %s', (body, param) => {
    expect(paramOf(() => checkEmbeddings(body))).toBe(param);
  });
});
