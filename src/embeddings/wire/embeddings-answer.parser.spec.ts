import { ApiError } from '../../common/errors/index.js';
import { parseEmbeddingsAnswer } from './embeddings-answer.parser.js';

const parse = (body: string, texts = ['aa', 'aaaa']) => parseEmbeddingsAnswer(Buffer.from(body), texts);
const b64 = (values: number[]): string => Buffer.from(Float32Array.from(values).buffer).toString('base64');

async function malformed(body: string, texts = ['a', 'b']): Promise<ApiError> {
  const error: unknown = await parse(body, texts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  expect((error as ApiError).status).toBe(502);
  expect((error as ApiError).code).toBe('upstream_malformed_response');
  return error as ApiError;
}

describe(parseEmbeddingsAnswer.name, () => {
  it('puts vectors back by index, keeps their text as written, and shares the prompt tokens by text length', async () => {
    const body =
      '{"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.30, -4e-3]},' +
      '{"object": "embedding", "embedding" : [0.1,0.2], "index": 0}],"model":"m","usage":{"prompt_tokens":12,"total_tokens":12}}';
    const [first, second] = await parse(body);
    expect(first.jsonText()).toBe('[0.1,0.2]');
    expect(second.jsonText()).toBe('[0.30, -4e-3]');
    expect([first.tokens, second.tokens]).toEqual([4, 8]);
    expect(second.knownDimensions).toBe(2); // the answer's first vector is read in full
    expect(first.knownDimensions).toBeUndefined(); // a later one is counted when asked
    expect(first.dimensions).toBe(2);
  });

  it('reads base64 vectors as float32 bytes, and a mix of both forms', async () => {
    const body = `{"data":[{"index":0,"embedding":"${b64([0.5, -1])}"},{"index":1,"embedding":[0.25,2]}]}`;
    const [first, second] = await parse(body);
    expect(Array.from(first.float32())).toEqual([0.5, -1]);
    expect(first.hasJson).toBe(false);
    expect(second.jsonText()).toBe('[0.25,2]');
    expect(first.tokens).toBeUndefined();
  });

  it('decodes the first base64 vector to check it, and checks later ones by their length (decoded only when a float answer needs them)', async () => {
    const later = b64([1, 2]).replace(/^A/, '!'); // one character outside the alphabet, same length
    const [first, second] = await parse(`{"data":[{"index":0,"embedding":"${b64([0.5, -1])}"},{"index":1,"embedding":"${later}"}]}`);
    expect(second.knownDimensions).toBe(2);
    expect(second.base64()).toBe(later); // a base64 answer carries it as the upstream wrote it, as a relay would
    const asFloats = (): unknown => second.jsonText();
    expect(asFloats).toThrow(expect.objectContaining({ status: 502, code: 'upstream_malformed_response' }) as Error);
    expect(first.jsonText()).toBe('[0.5,-1]');
    const [, infinite] = await parse(`{"data":[{"index":0,"embedding":"${b64([1, 2])}"},{"index":1,"embedding":"${b64([1, Infinity])}"}]}`);
    expect(() => infinite.jsonText()).toThrow(/not a finite number/);
  });

  it('takes positions for indices when the upstream gives none', async () => {
    const [first, second] = await parse('{"data":[{"embedding":[1]},{"embedding":[2]}]}');
    expect([first.jsonText(), second.jsonText()]).toEqual(['[1]', '[2]']);
  });

  it.each([
    ['no data', '{}', /no data array/],
    ['not JSON', 'not json{', /not valid JSON/],
    ['cut off inside a vector', '{"data":[{"index":0,"embedding":[0.1,0.2', /cut off/],
    ['cut off after the vectors', '{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2]}', /not valid JSON/],
    ['too few items', '{"data":[{"index":0,"embedding":[1]}]}', /1 items for 2 inputs/],
    ['a malformed number', '{"data":[{"index":0,"embedding":[1.2.3]},{"index":1,"embedding":[2]}]}', /not an array of numbers/],
    ['an empty vector', '{"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[2]}]}', /not an array of numbers/],
    ['a null vector', '{"data":[{"index":0,"embedding":null},{"index":1,"embedding":[2]}]}', /not a vector/],
    ['a repeated index', '{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}', /index 0 is out of range or repeated/],
    ['an index out of range', '{"data":[{"index":0,"embedding":[1]},{"index":5,"embedding":[2]}]}', /index 5/],
    ['vectors of different lengths', `{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":"${b64([2, 3])}"}]}`, /differ in length/],
    ['a string in a later vector', '{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2,"x"]}]}', /data\[1\].embedding is not an array of numbers/],
    ['an object in a later vector', '{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2,{}]}]}', /data\[1\].embedding is not an array of numbers/],
    ['a vector outside data', '{"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[2]}],"x":{"embedding":[3]}}', /outside its data/],
    ['a number posing as a placeholder', '{"data":[{"embedding":[1]},{"embedding":0}],"x":{"embedding":[2]}}', /data\[1\].embedding is not a vector/],
    ['base64 of a partial float', '{"data":[{"index":0,"embedding":"AAA="},{"index":1,"embedding":"AAAAAA=="}]}', /not base64 of float32/],
    ['base64 of a partial float in a later vector', `{"data":[{"index":0,"embedding":"${b64([1])}"},{"index":1,"embedding":"AAA="}]}`, /data\[1\].embedding is not base64 of float32/],
    ['a later base64 vector cut short', `{"data":[{"index":0,"embedding":"${b64([1, 2])}"},{"index":1,"embedding":"${b64([1, 2, 3]).slice(0, 8)}"}]}`, /not base64 of float32/],
    ['a JSON escape in a later base64 vector', `{"data":[{"index":0,"embedding":"${b64([1, 2])}"},{"index":1,"embedding":"${b64([1, 2]).replace(/A/g, '\\u0041')}"}]}`, /not base64 of float32|differ in length/],
    ['a NaN in base64', `{"data":[{"index":0,"embedding":"${b64([NaN])}"},{"index":1,"embedding":"${b64([1])}"}]}`, /not a finite number/],
    ['an infinity in base64, after 5 finite values', `{"data":[{"index":0,"embedding":"${b64([1, 2, 3, 4, 5, Infinity])}"},{"index":1,"embedding":"${b64([1, 1, 1, 1, 1, 1])}"}]}`, /not a finite number/],
    ['both infinities in base64', `{"data":[{"index":0,"embedding":"${b64([1, -Infinity, 2, Infinity])}"},{"index":1,"embedding":"${b64([1, 1, 1, 1])}"}]}`, /not a finite number/],
  ])('%s → 502 malformed', async (_name, body, message) => {
    expect((await malformed(body)).message).toMatch(message);
  });
});
