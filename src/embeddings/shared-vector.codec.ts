import { createHash } from 'node:crypto';
import type { EmbeddingSpec } from './embedding.types.js';

/**
 * How an embedding sits in the shared cache tier (Redis), readable by every instance of the same
 * layout version.
 *
 * Key: `ballast:emb:v1:<model, URI-encoded>:<dimensions or ->:<sha256 of the text, base64url>` —
 * one prefix per embedding space (so a model's vectors can be listed or dropped with one pattern),
 * and a fixed-size digest instead of the text (texts run to EMBEDDINGS_MAX_TEXT_CHARS; the text
 * itself is never stored).
 *
 * Value: the vector's own bytes behind a 20-byte header, no number ever parsed or printed:
 *   0  u8   0xBA (a ballast vector)        1  u8  layout version (1)
 *   2  u8   forms: 1 = JSON text, 2 = float32 (both may be set)    3  u8  0
 *   4  u32  dimensions (LE; 0 = not counted yet, JSON text only)
 *   8  f64  tokens (LE; NaN = the upstream reported none)
 *   16 u32  length of the JSON text (0 without it)
 *   20      the JSON array text, then dimensions × 4 bytes of little-endian float32
 */
export const SHARED_VECTOR_KEY_PREFIX = 'ballast:emb:v1';
const MAGIC = 0xba;
const VERSION = 1;
const HAS_JSON = 1;
const HAS_F32 = 2;
const HEADER = 20;

/** One vector's bytes as the embeddings cache keeps them: the upstream's JSON text and/or float32. */
export interface VectorBytes {
  /** Undefined: not counted yet (a JSON text nobody has read in full); always known with float32. */
  dimensions: number | undefined;
  tokens: number | undefined;
  json?: Buffer;
  f32?: Buffer;
}

export function sharedSpecPrefix(spec: EmbeddingSpec): string {
  return `${SHARED_VECTOR_KEY_PREFIX}:${encodeURIComponent(spec.model)}:${spec.dimensions ?? '-'}:`;
}

export function sharedVectorKey(spec: EmbeddingSpec, text: string): string {
  return sharedSpecPrefix(spec) + createHash('sha256').update(text, 'utf8').digest('base64url');
}

export function encodeSharedVector(vector: VectorBytes): Buffer {
  const json = vector.json;
  const f32 = vector.f32;
  if (json === undefined && f32 === undefined) throw new Error('encodeSharedVector: a vector with neither form');
  if (f32 !== undefined && f32.length !== (vector.dimensions ?? -1) * 4) throw new Error('encodeSharedVector: float32 bytes are not dimensions × 4');
  const out = Buffer.allocUnsafe(HEADER + (json?.length ?? 0) + (f32?.length ?? 0));
  out[0] = MAGIC;
  out[1] = VERSION;
  out[2] = (json ? HAS_JSON : 0) | (f32 ? HAS_F32 : 0);
  out[3] = 0;
  out.writeUInt32LE(vector.dimensions ?? 0, 4);
  out.writeDoubleLE(vector.tokens ?? Number.NaN, 8);
  out.writeUInt32LE(json?.length ?? 0, 16);
  let at = HEADER;
  if (json) at += json.copy(out, at);
  if (f32) f32.copy(out, at);
  return out;
}

/**
 * The vector in `bytes`, or undefined for anything that is not a well-formed value of this layout
 * (another version, a truncated or foreign value): a miss, never an error. The forms are copies
 * of their own, not views of `bytes`.
 */
export function decodeSharedVector(bytes: Buffer): VectorBytes | undefined {
  if (bytes.length < HEADER || bytes[0] !== MAGIC || bytes[1] !== VERSION || bytes[3] !== 0) return undefined;
  const forms = bytes[2];
  if (forms === 0 || (forms & ~(HAS_JSON | HAS_F32)) !== 0) return undefined;
  const dimensions = bytes.readUInt32LE(4);
  const tokens = bytes.readDoubleLE(8);
  const jsonLength = bytes.readUInt32LE(16);
  const f32Length = forms & HAS_F32 ? dimensions * 4 : 0;
  if ((forms & HAS_JSON ? jsonLength === 0 : jsonLength !== 0) || bytes.length !== HEADER + jsonLength + f32Length) return undefined;
  if (dimensions === 0 && forms !== HAS_JSON) return undefined;
  if (!Number.isNaN(tokens) && !(Number.isFinite(tokens) && tokens >= 0)) return undefined;
  const vector: VectorBytes = { dimensions: dimensions === 0 ? undefined : dimensions, tokens: Number.isNaN(tokens) ? undefined : tokens };
  if (forms & HAS_JSON) {
    const json = copy(bytes, HEADER, HEADER + jsonLength);
    if (json[0] !== 0x5b || json[json.length - 1] !== 0x5d) return undefined; // [ ... ]
    vector.json = json;
  }
  if (forms & HAS_F32) vector.f32 = copy(bytes, HEADER + jsonLength, bytes.length);
  return vector;
}

/** Its own 4-byte-aligned memory (a Float32Array view needs the alignment), not a slice of the reply. */
function copy(bytes: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafeSlow(end - start);
  bytes.copy(out, 0, start, end);
  return out;
}
