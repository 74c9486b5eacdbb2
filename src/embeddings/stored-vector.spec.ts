import { shortestFloat32, StoredVector } from './stored-vector.js';
import { VectorArena } from './vector-arena.js';

const f32Bytes = (values: number[]): Buffer => Buffer.from(Float32Array.from(values).buffer);

describe(StoredVector.name, () => {
  it('answers the upstream JSON text exactly as written, and its numbers as float32', () => {
    const text = '[0.1234567891,-2.5e-3,7]';
    const vector = StoredVector.fromJson(Buffer.from(text), 3, 4);
    expect(vector.jsonText()).toBe(text);
    expect(Array.from(vector.float32())).toEqual([Math.fround(0.1234567891), Math.fround(-2.5e-3), 7]);
    expect(vector.base64()).toBe(f32Bytes([0.1234567891, -2.5e-3, 7]).toString('base64'));
    expect(vector.tokens).toBe(4);
    expect(vector.dimensions).toBe(3);
  });

  it('writes float32 values in the shortest text that reads back as the same float32', () => {
    const vector = StoredVector.fromFloat32(f32Bytes([0.1, -0.0069292835, 1e-7, 0, 3]), undefined);
    expect(vector.jsonText()).toBe('[0.1,-0.0069292835,1e-7,0,3]');
    const back = (JSON.parse(vector.jsonText()) as number[]).map(Math.fround);
    expect(back).toEqual(Array.from(vector.float32()));
  });

  it('a kept copy never holds on to the answer it came from, in an arena or in memory of its own', () => {
    for (const arena of [new VectorArena({ segmentBytes: 4096 }), undefined]) {
      const answer = Buffer.from('xx[1,2]yy');
      const vector = StoredVector.fromJson(answer.subarray(2, 7), 2, undefined).copyInto(arena);
      answer.fill(0x30);
      expect(vector.jsonText()).toBe('[1,2]');
      expect(vector.jsonBytes().buffer).not.toBe(answer.buffer);
    }
  });

  it('counts its bytes, and both forms once both are made', () => {
    const vector = StoredVector.fromFloat32(f32Bytes(new Array(1536).fill(0.5)), undefined);
    expect(vector.hasJson).toBe(false);
    const both = vector.withBothForms();
    expect(both.hasJson && both.hasBase64).toBe(true);
    expect(both.byteSize).toBe(vector.byteSize + both.jsonBytes().length);
    expect(both.withBothForms()).toBe(both);
  });
});

describe(shortestFloat32.name, () => {
  it.each([
    [0.1, '0.1'],
    [0.0023064255, '0.0023064255'],
    [-0.009327292, '-0.009327292'],
    [1 / 3, '0.33333334'],
    [16777217, '16777216'],
    [0.5, '0.5'],
    [-2, '-2'],
    [1e-7, '1e-7'],
    [2 ** -149, '1e-45'],
    [3.4028234663852886e38, '3.4028235e+38'],
  ])('%d → %s', (value, text) => {
    expect(shortestFloat32(Math.fround(value))).toBe(text);
  });

  it('round-trips random float32 values', () => {
    for (let i = 0; i < 2000; i++) {
      const value = Math.fround((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 10 - 5));
      expect(Math.fround(Number(shortestFloat32(value)))).toBe(value);
    }
  });
});
