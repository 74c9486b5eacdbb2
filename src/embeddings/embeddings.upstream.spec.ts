import { ApiError } from '../common/errors/index.js';
import { toEmbedded } from './embeddings.upstream.js';

describe(toEmbedded.name, () => {
  it('puts vectors back by index and shares the prompt tokens by text length', () => {
    const body = {
      data: [
        { index: 1, embedding: [0.3, 0.4] },
        { index: 0, embedding: [0.1, 0.2] },
      ],
      usage: { prompt_tokens: 12 },
    };
    expect(toEmbedded(body, ['aa', 'aaaa'])).toEqual([
      { vector: [0.1, 0.2], tokens: 4 },
      { vector: [0.3, 0.4], tokens: 8 },
    ]);
  });

  it('leaves tokens undefined when the upstream reports no usage', () => {
    expect(toEmbedded({ data: [{ embedding: [1] }] }, ['a'])).toEqual([{ vector: [1], tokens: undefined }]);
  });

  it.each([
    ['no data', {}, /no data array/],
    ['too few items', { data: [{ index: 0, embedding: [1] }] }, /1 items for 2 inputs/],
    ['base64 strings', { data: [{ index: 0, embedding: 'AAAA' }, { index: 1, embedding: 'AAAA' }] }, /not an array of numbers/],
    ['a repeated index', { data: [{ index: 0, embedding: [1] }, { index: 0, embedding: [2] }] }, /index 0 is out of range or repeated/],
    ['an index out of range', { data: [{ index: 0, embedding: [1] }, { index: 5, embedding: [2] }] }, /index 5/],
    ['vectors of different lengths', { data: [{ index: 0, embedding: [1] }, { index: 1, embedding: [2, 3] }] }, /differ in length/],
  ])('%s → 502 malformed', (_name, body, message) => {
    let error: unknown;
    try {
      toEmbedded(body as never, ['a', 'b']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).message).toMatch(message);
  });
});
