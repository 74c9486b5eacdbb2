import { countFloatList } from './float-list.js';

const count = (text: string): number => countFloatList(Buffer.from(text), 0, Buffer.byteLength(text));

describe(countFloatList.name, () => {
  it.each([
    ['[1]', 1],
    ['[0.0123,-0.0456,1e-7,2E+3,-0,0.5e10]', 6],
    ['[ 1 , 2 ,\n3\t]', 3],
    ['[-0.0069292835,0.0023064255]', 2],
  ])('%s has %i numbers', (text, n) => {
    expect(count(text)).toBe(n);
  });

  it.each([
    ['[]'],
    ['[ ]'],
    ['[1,]'],
    ['[,1]'],
    ['[1,,2]'],
    ['[1 2]'],
    ['[01]'],
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
    ['1,2]'],
    ['[1,2'],
  ])('%s is refused', (text) => {
    expect(count(text)).toBe(-1);
  });

  it('reads only the given range', () => {
    const bytes = Buffer.from('xx[1,2,3]yy');
    expect(countFloatList(bytes, 2, 9)).toBe(3);
  });
});
