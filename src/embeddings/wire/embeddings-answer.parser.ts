import { TimeSlice } from '../../common/scheduling/time-slice.js';
import { malformedUpstreamResponse } from '../../upstream/upstream-error.mapper.js';
import { StoredVector } from '../stored-vector.js';
import { countFloatList } from './float-list.js';

const EMBEDDING_KEY = Buffer.from('"embedding"');
const QUOTE = 0x22;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const OPEN_BRACE = 0x7b;

interface Span {
  start: number;
  end: number;
  base64: boolean;
  /** Claimed by a data item (a literal number in the answer could pose as a placeholder). */
  taken?: boolean;
}

interface Skeleton {
  data?: Array<{ index?: unknown; embedding?: unknown }>;
  usage?: { prompt_tokens?: unknown };
}

/**
 * Reads an upstream `/embeddings` answer (OpenAI's shape, float or base64 vectors) straight from its
 * bytes, without parsing a number: every `"embedding": <value>` is located with `indexOf` and cut
 * out and kept as written (the first vector of each form read in full, the others checked by their
 * framing and length: see fromFloatList and fromBase64), and the rest, a few hundred bytes of skeleton with a placeholder per
 * vector, goes through `JSON.parse`, so the structure (indices, usage, nothing truncated) is checked
 * by the real parser. Answers one StoredVector per input, by `index`, with its share of the prompt
 * tokens (by text length). Anything malformed is a 502, and nothing from the answer is kept.
 * The per-vector checks give the event loop a turn every millisecond or so: a 256-text batch of
 * 1536-dim floats is ~5 MB of bytes to walk.
 */
export async function parseEmbeddingsAnswer(body: Buffer, texts: readonly string[]): Promise<StoredVector[]> {
  const spans = locateVectors(body);
  const skeleton = parseSkeleton(body, spans);
  const data = skeleton.data;
  if (!Array.isArray(data)) throw malformedUpstreamResponse('no data array in the embeddings answer');
  if (data.length !== texts.length) {
    throw malformedUpstreamResponse(`the embeddings answer has ${data.length} items for ${texts.length} inputs`);
  }

  const promptTokens = skeleton.usage?.prompt_tokens;
  const shares = tokenShares(typeof promptTokens === 'number' && Number.isFinite(promptTokens) ? promptTokens : undefined, texts);
  const vectors = new Array<StoredVector | undefined>(texts.length);
  const slice = new TimeSlice();
  let dims = -1;
  let base64Read = false;
  for (let position = 0; position < data.length; position++) {
    if (slice.spent()) await slice.pause();
    const item = data[position];
    const marker = item?.embedding;
    const span = typeof marker === 'number' ? spans[marker] : undefined;
    if (span === undefined || span.taken) throw malformedUpstreamResponse(`data[${position}].embedding is not a vector`);
    span.taken = true;
    const index = Number.isInteger(item.index) ? (item.index as number) : position;
    if (index < 0 || index >= texts.length || vectors[index] !== undefined) {
      throw malformedUpstreamResponse(`data[${position}].index ${index} is out of range or repeated`);
    }
    let vector: StoredVector;
    if (!span.base64) vector = fromFloatList(body, span, position, shares[index], position === 0);
    else {
      vector = fromBase64(body, span, position, shares[index], !base64Read);
      base64Read = true;
    }
    // Lengths known without reading (base64, the first float vector) must agree.
    const known = vector.knownDimensions;
    if (known !== undefined) {
      if (dims !== -1 && known !== dims) throw malformedUpstreamResponse('the embeddings in one answer differ in length');
      dims = known;
    }
    vectors[index] = vector;
  }
  // Every item took a vector of its own, so any span left over lies elsewhere.
  if (spans.length !== data.length) throw malformedUpstreamResponse('the embeddings answer has vectors outside its data items');
  return vectors as StoredVector[];
}

/** Where each `"embedding"` key's value lies; a key is a match followed by optional whitespace and `:`. */
function locateVectors(body: Buffer): Span[] {
  const spans: Span[] = [];
  let from = 0;
  for (;;) {
    const at = body.indexOf(EMBEDDING_KEY, from);
    if (at === -1) return spans;
    let i = skipSpace(body, at + EMBEDDING_KEY.length);
    from = at + EMBEDDING_KEY.length;
    if (body[i] !== 0x3a) continue; // a value ("object": "embedding"), not the key
    i = skipSpace(body, i + 1);
    if (body[i] === OPEN) {
      const close = body.indexOf(CLOSE, i);
      if (close === -1) throw malformedUpstreamResponse('the embeddings answer is cut off inside a vector');
      spans.push({ start: i, end: close + 1, base64: false });
      from = close + 1;
    } else if (body[i] === QUOTE) {
      const close = body.indexOf(QUOTE, i + 1);
      if (close === -1) throw malformedUpstreamResponse('the embeddings answer is cut off inside a vector');
      spans.push({ start: i + 1, end: close, base64: true });
      from = close + 1;
    }
    // Any other value is left in the skeleton, where the check on data[i].embedding refuses it.
  }
}

function skipSpace(body: Buffer, i: number): number {
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  return i;
}

/** The answer with each vector replaced by its span number, parsed. */
function parseSkeleton(body: Buffer, spans: Span[]): Skeleton {
  let text = '';
  let at = 0;
  spans.forEach((span, n) => {
    const start = span.base64 ? span.start - 1 : span.start;
    const end = span.base64 ? span.end + 1 : span.end;
    text += body.toString('utf8', at, start) + String(n);
    at = end;
  });
  text += body.toString('utf8', at);
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') throw new Error('not an object');
    return value as Skeleton;
  } catch {
    throw malformedUpstreamResponse('the embeddings answer is not valid JSON');
  }
}

/**
 * A float vector as the upstream wrote it. What every vector gets is native-speed (a few memchr):
 * it is bracketed, non-empty and holds no string or object, so together with the skeleton's parse the
 * answer we relay is framed as the upstream framed it. The first vector of each answer is also read
 * in full (every number well-formed, and its length); reading every one would cost more CPU than
 * the rest of the call put together (~2 ns a byte, ~2.5 ms for 64 x 1536 dims on this machine),
 * where a relay reads none. Later vectors are counted when their length is first asked for.
 */
function fromFloatList(body: Buffer, span: Span, position: number, tokens: number | undefined, first: boolean): StoredVector {
  const bytes = body.subarray(span.start, span.end);
  const framed = bytes.length >= 3 && bytes.indexOf(QUOTE) === -1 && bytes.indexOf(OPEN_BRACE) === -1;
  const dims = first && framed ? countFloatList(bytes, 0, bytes.length) : framed ? undefined : -1;
  if (dims === -1 || dims === 0) throw malformedUpstreamResponse(`data[${position}].embedding is not an array of numbers`);
  return StoredVector.fromJson(bytes, dims, tokens);
}

/**
 * Where a base64 vector is decoded to be checked (then dropped: what is kept is its text). One
 * buffer for the process, grown as needed: each decode and its check run without a pause.
 */
let decoded = Buffer.allocUnsafeSlow(16 * 1024);

/**
 * A base64 vector as the upstream wrote it. As with float lists, the answer's first one is read in
 * full (decoded: only base64 characters, whole float32 values, none infinite or NaN); a later one is
 * checked by its length, which must give whole float32 values (and, in the caller, the first one's
 * count: a JSON escape or a cut inside it changes its length). Decoding every vector would be ~12 %
 * of the CPU of a base64 call (an 8 KB string made and decoded per vector), where a relay reads none.
 */
function fromBase64(body: Buffer, span: Span, position: number, tokens: number | undefined, first: boolean): StoredVector {
  const length = span.end - span.start;
  const padding = length === 0 ? 0 : body[span.end - 1] !== 0x3d ? 0 : body[span.end - 2] === 0x3d ? 2 : 1;
  const bytes = (length / 4) * 3 - padding;
  if (length === 0 || length % 4 !== 0 || bytes % 4 !== 0) {
    throw malformedUpstreamResponse(`data[${position}].embedding is not base64 of float32 values`);
  }
  if (first) {
    if (decoded.length < bytes + padding) decoded = Buffer.allocUnsafeSlow(bytes + padding);
    // A character outside the alphabet is skipped by the decoder, so the length tells.
    if (decoded.write(body.toString('latin1', span.start, span.end), 0, 'base64') !== bytes) {
      throw malformedUpstreamResponse(`data[${position}].embedding is not base64 of float32 values`);
    }
    if (!allFinite(new Float32Array(decoded.buffer, decoded.byteOffset, bytes / 4))) {
      throw malformedUpstreamResponse(`data[${position}].embedding holds a value that is not a finite number`);
    }
  }
  // What is kept is the upstream's own text (a base64 answer is a copy of it).
  return StoredVector.fromBase64Text(body.subarray(span.start, span.end), bytes / 4, tokens);
}

/**
 * No infinity or NaN (which no JSON answer could carry): their sum in doubles is finite exactly
 * then (float32 values cannot add up to a double's range; one NaN or infinity makes it NaN or
 * infinite). Four sums, so the adds do not wait on each other: ~2x a per-value test.
 */
function allFinite(values: Float32Array): boolean {
  const whole = values.length & ~3;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < whole; i += 4) {
    a += values[i];
    b += values[i + 1];
    c += values[i + 2];
    d += values[i + 3];
  }
  for (let i = whole; i < values.length; i++) a += values[i];
  return Number.isFinite(a + b + c + d);
}

/** Each text's share of the batch's prompt tokens, by length; undefined when the upstream gave no count. */
function tokenShares(promptTokens: number | undefined, texts: readonly string[]): Array<number | undefined> {
  if (promptTokens === undefined) return texts.map(() => undefined);
  let chars = 0;
  for (const text of texts) chars += text.length;
  return texts.map((text) => (chars === 0 ? 0 : (promptTokens * text.length) / chars));
}
