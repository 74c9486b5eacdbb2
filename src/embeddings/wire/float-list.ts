// One pass over the bytes of a JSON array of numbers, `[n, n, ...]`, without turning a single one into
// a double: an upstream's vector text is kept and sent back exactly as written, so all ballast needs is
// to know that it is a well-formed, non-empty list of JSON numbers and how many there are.
// (JSON.parse would take ~5x as long and make ~1,500 doubles per vector only to drop them.)
// A table-driven automaton: one lookup per byte, ~1-2 ns a byte.

// States. ERROR is sticky; the list may end only in one of the ACCEPT states.
const VALUE = 0; // after `[` or `,`: a number must start
const SIGN = 1; // after `-`
const ZERO = 2; // after a leading `0`
const INT = 3; // in the integer digits
const DOT = 4; // after `.`
const FRAC = 5; // in the fraction digits
const EXP = 6; // after `e`/`E`
const EXP_SIGN = 7; // after the exponent's sign
const EXP_DIGITS = 8; // in the exponent digits
const AFTER = 9; // after a number and whitespace: `,` or `]`
const ERROR = 10;
const STATES = 11;

const NEXT = new Uint8Array(STATES * 256).fill(ERROR);
const on = (state: number, chars: string, next: number): void => {
  for (const c of chars) NEXT[state * 256 + c.charCodeAt(0)] = next;
};
const SPACE = ' \t\n\r';
const DIGITS = '0123456789';
const NONZERO = '123456789';
on(VALUE, SPACE, VALUE);
on(VALUE, '-', SIGN);
on(VALUE, '0', ZERO);
on(VALUE, NONZERO, INT);
on(SIGN, '0', ZERO);
on(SIGN, NONZERO, INT);
on(INT, DIGITS, INT);
for (const state of [ZERO, INT]) {
  on(state, '.', DOT);
  on(state, 'eE', EXP);
}
on(DOT, DIGITS, FRAC);
on(FRAC, DIGITS, FRAC);
on(FRAC, 'eE', EXP);
on(EXP, '+-', EXP_SIGN);
on(EXP, DIGITS, EXP_DIGITS);
on(EXP_SIGN, DIGITS, EXP_DIGITS);
on(EXP_DIGITS, DIGITS, EXP_DIGITS);
for (const state of [ZERO, INT, FRAC, EXP_DIGITS, AFTER]) {
  on(state, ',', VALUE);
  on(state, SPACE, AFTER);
}

const ACCEPT = new Uint8Array(STATES);
for (const state of [ZERO, INT, FRAC, EXP_DIGITS, AFTER]) ACCEPT[state] = 1;

/**
 * The number of elements of the JSON number array in `bytes[start, end)` (which must begin with `[`
 * and end with `]`), or -1 if it is not exactly that: empty, a stray character, a malformed number
 * (`01`, `1.`, `.5`, `1e`, `--1`), a missing or doubled comma.
 */
export function countFloatList(bytes: Uint8Array, start: number, end: number): number {
  if (end - start < 3 || bytes[start] !== 0x5b || bytes[end - 1] !== 0x5d) return -1;
  const next = NEXT;
  let state = VALUE;
  let commas = 0;
  for (let i = start + 1, last = end - 1; i < last; i++) {
    const c = bytes[i];
    state = next[(state << 8) | c];
    if (c === 0x2c) commas++;
  }
  return ACCEPT[state] === 1 ? commas + 1 : -1;
}

/** Powers of ten a double holds exactly: a number of at most 15 digits scaled by one of them is one correctly rounded operation. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The numbers of the JSON number array in `bytes[start, end)` written into `out` as float32, each
 * read as JSON.parse reads it (the nearest double; then rounded to float32, as a Float32Array store
 * rounds it). Answers how many, or -1 if the text is not such a list (as countFloatList refuses it) or
 * holds more numbers than `out` takes. Numbers of at most 15 digits and a power of ten up to 22 take
 * Clinger's fast path (one exact multiplication or division: correctly rounded); the rest, Number().
 * ~2.5x faster than JSON.parse into doubles and a copy out.
 */
export function parseFloatList(bytes: Uint8Array, start: number, end: number, out: Float32Array): number {
  if (end - start < 3 || bytes[start] !== 0x5b || bytes[end - 1] !== 0x5d) return -1;
  const last = end - 1; // the `]`, which stops every loop below
  let i = start + 1;
  let n = 0;
  for (;;) {
    let c = bytes[i];
    while (isSpace(c)) c = bytes[++i];
    const negative = c === 0x2d;
    if (negative) c = bytes[++i];
    const numberStart = i;
    if (!isDigit(c)) return -1;
    let mantissa = 0;
    let digits = 0;
    let scale = 0;
    if (c === 0x30) {
      c = bytes[++i];
      if (isDigit(c)) return -1; // a leading zero
    } else {
      for (; isDigit(c); c = bytes[++i], digits++) mantissa = mantissa * 10 + (c - 0x30);
    }
    if (c === 0x2e) {
      c = bytes[++i];
      if (!isDigit(c)) return -1;
      for (; isDigit(c); c = bytes[++i], digits++, scale--) mantissa = mantissa * 10 + (c - 0x30);
    }
    if (c === 0x65 || c === 0x45) {
      c = bytes[++i];
      const minus = c === 0x2d;
      if (minus || c === 0x2b) c = bytes[++i];
      if (!isDigit(c)) return -1;
      let exponent = 0;
      for (; isDigit(c); c = bytes[++i]) if (exponent < 1e6) exponent = exponent * 10 + (c - 0x30);
      scale += minus ? -exponent : exponent;
    }
    if (n === out.length) return -1;
    const value =
      digits <= 15 && scale >= -22 && scale <= 22
        ? scale < 0
          ? mantissa / EXACT_POWERS[-scale]
          : mantissa * EXACT_POWERS[scale]
        : Number(Buffer.from(bytes.buffer, bytes.byteOffset + numberStart, i - numberStart).toString('latin1'));
    out[n++] = negative ? -value : value;
    while (isSpace(c)) c = bytes[++i];
    if (i === last) return n;
    if (c !== 0x2c) return -1;
    i++;
  }
}
