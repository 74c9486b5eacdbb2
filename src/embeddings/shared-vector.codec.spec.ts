import { createHash } from 'node:crypto';
import { decodeSharedVector, encodeSharedVector, sharedSpecPrefix, sharedVectorKey, type VectorBytes } from './shared-vector.codec.js';

const f32Of = (values: number[]) => Buffer.from(new Float32Array(values).buffer);
const json = (text: string) => Buffer.from(text, 'latin1');

describe('shared vector keys', () => {
  it('one prefix per model and dimensions, then the sha256 of the text (base64url)', () => {
    const digest = createHash('sha256').update('héllo', 'utf8').digest('base64url');
    expect(sharedVectorKey({ model: 'text-embedding-3-small' }, 'héllo')).toBe(`ballast:emb:v1:text-embedding-3-small:-:${digest}`);
    expect(sharedVectorKey({ model: 'text-embedding-3-small', dimensions: 256 }, 'héllo')).toBe(`ballast:emb:v1:text-embedding-3-small:256:${digest}`);
    expect(digest).toHaveLength(43);
  });

  it('model names cannot run into the next field or another model’s prefix', () => {
    expect(sharedSpecPrefix({ model: 'org/model:v2#1 x' })).toBe('ballast:emb:v1:org%2Fmodel%3Av2%231%20x:-:');
    const a = sharedVectorKey({ model: 'a:1' }, 't');
    const b = sharedVectorKey({ model: 'a', dimensions: 1 }, 't');
    expect(a).not.toBe(b);
  });

  it('same text, same key; different texts (even long, or differing by one char), different keys', () => {
    const spec = { model: 'm' };
    const long = 'x'.repeat(32_768);
    expect(sharedVectorKey(spec, long)).toBe(sharedVectorKey(spec, 'x'.repeat(32_768)));
    expect(sharedVectorKey(spec, long)).not.toBe(sharedVectorKey(spec, `${long.slice(1)}y`));
    expect(sharedVectorKey(spec, long).length).toBeLessThan(100);
    expect(sharedVectorKey(spec, '')).not.toBe(sharedVectorKey(spec, ' '));
  });
});

describe('shared vector values', () => {
  const cases: Array<[string, VectorBytes]> = [
    ['JSON text only', { dimensions: 3, tokens: 2.5, json: json('[0.1,-0.25,3e-7]') }],
    ['float32 only, no tokens', { dimensions: 3, tokens: undefined, f32: f32Of([0.1, -0.25, 3e-7]) }],
    ['both forms, zero tokens', { dimensions: 2, tokens: 0, json: json('[1,2]'), f32: f32Of([1, 2]) }],
    ['JSON text not counted yet', { dimensions: undefined, tokens: 1, json: json('[1,2,3]') }],
  ];

  it.each(cases)('%s: round-trips byte for byte', (_, vector) => {
    const encoded = encodeSharedVector(vector);
    expect(decodeSharedVector(encoded)).toEqual(vector);
  });

  it('lays the header out as documented', () => {
    const encoded = encodeSharedVector({ dimensions: 2, tokens: 7, json: json('[1,2]'), f32: f32Of([1, 2]) });
    expect([...encoded.subarray(0, 4)]).toEqual([0xba, 1, 3, 0]);
    expect(encoded.readUInt32LE(4)).toBe(2);
    expect(encoded.readDoubleLE(8)).toBe(7);
    expect(encoded.readUInt32LE(16)).toBe(5);
    expect(encoded.subarray(20, 25).toString('latin1')).toBe('[1,2]');
    expect(encoded.subarray(25)).toEqual(f32Of([1, 2]));
    expect(encoded).toHaveLength(20 + 5 + 8);
  });

  it('decoded forms own 4-byte-aligned memory (a Float32Array view works), not views of the reply', () => {
    const reply = Buffer.concat([Buffer.from([0]), encodeSharedVector({ dimensions: 2, tokens: 1, json: json('[1,2]'), f32: f32Of([1.5, -2]) })]).subarray(1);
    const decoded = decodeSharedVector(reply)!;
    expect(decoded.f32!.byteOffset % 4).toBe(0);
    expect([...new Float32Array(decoded.f32!.buffer, decoded.f32!.byteOffset, 2)]).toEqual([1.5, -2]);
    reply.fill(0);
    expect(decoded.json!.toString('latin1')).toBe('[1,2]');
  });

  it('refuses to encode a vector with neither form, or float32 bytes that do not match its dimensions', () => {
    expect(() => encodeSharedVector({ dimensions: 2, tokens: 1 })).toThrow(/neither form/);
    expect(() => encodeSharedVector({ dimensions: 3, tokens: 1, f32: f32Of([1, 2]) })).toThrow(/dimensions × 4/);
    expect(() => encodeSharedVector({ dimensions: undefined, tokens: 1, f32: f32Of([1, 2]) })).toThrow(/dimensions × 4/);
  });

  const good = encodeSharedVector({ dimensions: 2, tokens: 1, json: json('[1,2]'), f32: f32Of([1, 2]) });
  const mutated = (at: number, value: number) => {
    const copy = Buffer.from(good);
    copy[at] = value;
    return copy;
  };
  const withTokens = (tokens: number) => {
    const copy = Buffer.from(good);
    copy.writeDoubleLE(tokens, 8);
    return copy;
  };
  it.each([
    ['empty', Buffer.alloc(0)],
    ['shorter than the header', good.subarray(0, 19)],
    ['truncated payload', good.subarray(0, good.length - 1)],
    ['one byte too many', Buffer.concat([good, Buffer.from([0])])],
    ['another magic', mutated(0, 0x7b)],
    ['another version', mutated(1, 2)],
    ['no form', mutated(2, 0)],
    ['unknown form bit', mutated(2, 7)],
    ['reserved byte set', mutated(3, 1)],
    ['float32 with dimensions 0', (() => { const c = Buffer.from(encodeSharedVector({ dimensions: 2, tokens: 1, f32: f32Of([1, 2]) })); c.writeUInt32LE(0, 4); return c; })()],
    ['JSON that is not a list', (() => { const c = Buffer.from(good); c[20] = 0x7b; return c; })()],
    ['negative tokens', withTokens(-1)],
    ['infinite tokens', withTokens(Number.POSITIVE_INFINITY)],
    ['a plain JSON value someone else stored', Buffer.from('[0.1,0.2]')],
  ])('%s → undefined (a miss, not an error)', (_, bytes) => {
    expect(decodeSharedVector(bytes)).toBeUndefined();
  });
});
