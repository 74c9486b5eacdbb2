import { shortestFloat32 } from '../stored-vector.js';
import { countFloatList, parseFloatList } from './float-list.js';

const count = (text: string): number => countFloatList(Buffer.from(text), 0, Buffer.byteLength(text));

const REFUSED = [
  ['[]'],
  ['[ ]'],
  ['[1,]'],
  ['[,1]'],
  ['[1,,2]'],
  ['[1 2]'],
  ['[01]'],
  ['[-01]'],
  ['[1.]'],
  ['[.5]'],
  ['[1e]'],
  ['[1e+]'],
  ['[--1]'],
  ['[-]'],
  ['[1.2.3]'],
  ['[NaN]'],
  ['[Infinity]'],
  ['["1"]'],
  ['[null]'],
  ['[1,[2]]'],
  ['[1]2]'],
  ['1,2]'],
  ['[1,2'],
];

describe(countFloatList.name, () => {
  it.each([
    ['[1]', 1],
    ['[0.0123,-0.0456,1e-7,2E+3,-0,0.5e10]', 6],
    ['[ 1 , 2 ,\n3\t]', 3],
    ['[-0.0069292835,0.0023064255]', 2],
  ])('%s has %i numbers', (text, n) => {
    expect(count(text)).toBe(n);
  });

  it.each(REFUSED)('%s is refused', (text) => {
    expect(count(text)).toBe(-1);
  });

  it('reads only the given range', () => {
    const bytes = Buffer.from('xx[1,2,3]yy');
    expect(countFloatList(bytes, 2, 9)).toBe(3);
  });
});

describe(parseFloatList.name, () => {
  /** What JSON.parse and a Float32Array store make of the text: the reference. */
  const reference = (text: string): Float32Array => Float32Array.from(JSON.parse(text) as number[]);
  const parse = (text: string, room = 4096): Float32Array | -1 => {
    const out = new Float32Array(room);
    const n = parseFloatList(Buffer.from(text, 'latin1'), 0, text.length, out);
    return n === -1 ? -1 : out.subarray(0, n);
  };
  const sameBits = (a: Float32Array, b: Float32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

  it('reads float32 vectors written in shortest decimals exactly as JSON.parse does, bit for bit', () => {
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let v = 0; v < 50; v++) {
      const values = Array.from({ length: 1536 }, () => Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 12 - 8)));
      const text = `[${values.map(shortestFloat32).join(',')}]`;
      expect(sameBits(parse(text) as Float32Array, reference(text))).toBe(true);
    }
  });

  it.each([
    ['[0,-0,1,-1,0.5,-0.25]'],
    ['[ 1 , 2 ,\n3\t]'],
    ['[1e-7,2E+3,0.5e10,-1.5E-3,1e0]'],
    ['[0.1,0.2,0.30000000000000004,3.4028235e38,1.17549435e-38,1e-45]'],
    ['[1e39,-1e39,1e-50]'],
    ['[0.012345678901234567,123456789012345678,1.0000000000000002]'],
    ['[0.00000000000000000000000123,12345678901234567890e-30]'],
  ])('reads %s as JSON.parse does (past the fast path too)', (text) => {
    const got = parse(text);
    expect(got).not.toBe(-1);
    expect(sameBits(got as Float32Array, reference(text))).toBe(true);
  });

  it.each(REFUSED)('refuses %s', (text) => {
    expect(parse(text)).toBe(-1);
  });

  it('refuses a list longer than the room given, and reads only the given range', () => {
    expect(parse('[1,2,3]', 2)).toBe(-1);
    const out = new Float32Array(4);
    expect(parseFloatList(Buffer.from('xx[1,2.5,3]yy'), 2, 11, out)).toBe(3);
    expect(Array.from(out.subarray(0, 3))).toEqual([1, 2.5, 3]);
  });
});
