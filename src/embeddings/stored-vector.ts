import { malformedUpstreamResponse } from '../upstream/upstream-error.mapper.js';
import type { ArenaPiece, ArenaTenant, VectorArena } from './vector-arena.js';
import { countFloatList, parseFloatList } from './wire/float-list.js';

/**
 * One embedding kept as bytes, in the form(s) the upstream sent it: `json`, its JSON array text
 * exactly as written (`[0.0123,-0.0456,...]`, what a float answer is assembled from), and/or `b64`,
 * the base64 text of its little-endian float32 values as the upstream wrote it (what a base64 answer
 * is assembled from). Never a `number[]`: a cached 1536-dim vector is ~8 KB (b64) or ~18 KB (json)
 * outside the JS heap instead of ~12 KB+ of doubles inside it, and answering it is a copy, not a
 * serialisation or an encoding.
 */
export class StoredVector implements ArenaTenant {
  /** Where the forms live when they were copied into an arena (moved by its compaction). */
  private jsonPiece: ArenaPiece | undefined;
  private b64Piece: ArenaPiece | undefined;

  private constructor(
    /** Counted on first use for a float text nobody has read in full yet. */
    private dims: number | undefined,
    /** This text's share of the batch's prompt tokens (undefined if the upstream reported none). */
    readonly tokens: number | undefined,
    private json: Buffer | undefined,
    private b64: Buffer | undefined,
    /** The forms are views of memory someone else reuses (an upstream answer being read): copy before keeping. */
    private readonly borrowed = false,
  ) {}

  /**
   * From the upstream's JSON text of the vector (bracketed; its length if known), a view of the
   * answer's bytes, not copied: valid while the answer is, so keep it only through `copyInto()`.
   */
  static fromJson(json: Buffer, dimensions: number | undefined, tokens: number | undefined): StoredVector {
    return new StoredVector(dimensions, tokens, json, undefined, true);
  }

  /**
   * From the upstream's base64 text of the vector (no quotes; checked, `dimensions` floats), a view of
   * the answer's bytes, not copied: keep it only through `copyInto()`.
   */
  static fromBase64Text(b64: Buffer, dimensions: number, tokens: number | undefined): StoredVector {
    return new StoredVector(dimensions, tokens, undefined, b64, true);
  }

  /**
   * From forms already in memory of their own (the shared cache's decoded value,
   * shared-vector.codec.ts): taken as they are (float32 bytes encoded to base64 text once).
   */
  static fromOwnedForms(forms: { json?: Buffer; f32?: Buffer; dimensions: number | undefined; tokens: number | undefined }): StoredVector {
    if (forms.json === undefined && forms.f32 === undefined) throw new Error('StoredVector.fromOwnedForms: neither form');
    return new StoredVector(forms.f32 ? forms.f32.length / 4 : forms.dimensions, forms.tokens, forms.json, forms.f32 && base64Text(forms.f32));
  }

  /** From little-endian float32 bytes (`dimensions * 4` of them). */
  static fromFloat32(f32: Buffer, tokens: number | undefined): StoredVector {
    return new StoredVector(f32.length / 4, tokens, undefined, base64Text(f32));
  }

  /**
   * The same vector with its forms copied into `arena` (its pieces, released with `release()`), or
   * into memory of its own when there is no arena or a form is too large for it. Without an arena,
   * a vector that already owns its memory is returned as it is.
   */
  copyInto(arena: VectorArena | undefined): StoredVector {
    if (arena === undefined && !this.borrowed) return this;
    const copy = new StoredVector(this.dims, this.tokens, undefined, undefined);
    if (this.json) {
      copy.jsonPiece = arena?.copy(this.json, copy);
      copy.json = copy.jsonPiece?.bytes ?? ownCopy(this.json);
    }
    if (this.b64) {
      copy.b64Piece = arena?.copy(this.b64, copy);
      copy.b64 = copy.b64Piece?.bytes ?? ownCopy(this.b64);
    }
    return copy;
  }

  /** Gives the arena pieces back (the vector is out of the cache); readers holding a lease still read them safely. */
  release(arena: VectorArena): void {
    if (this.jsonPiece) arena.release(this.jsonPiece);
    if (this.b64Piece) arena.release(this.b64Piece);
  }

  /** ArenaTenant: the arena moved one of the pieces. */
  moved(piece: ArenaPiece, bytes: Buffer): void {
    if (piece === this.jsonPiece) this.json = bytes;
    else if (piece === this.b64Piece) this.b64 = bytes;
  }

  /** How many numbers the vector holds (counting them in the text the first time, if need be); -1 if the text is not a list of numbers. */
  get dimensions(): number {
    return (this.dims ??= countFloatList(this.json!, 0, this.json!.length));
  }

  /** The length if it is known without reading the text. */
  get knownDimensions(): number | undefined {
    return this.dims;
  }

  /** Bytes held, for the cache's bound (the Buffers' contents plus a fixed allowance per object). */
  get byteSize(): number {
    return OBJECT_OVERHEAD + (this.json?.length ?? 0) + (this.b64?.length ?? 0);
  }

  get hasJson(): boolean {
    return this.json !== undefined;
  }

  /** Holds the form a base64 answer is made of. */
  get hasBase64(): boolean {
    return this.b64 !== undefined;
  }

  /**
   * The vector as JSON array text: the upstream's own bytes when it sent floats; otherwise each
   * float32 in the shortest decimal that reads back as the same float32 (what OpenAI itself writes).
   */
  jsonBytes(): Buffer {
    return this.json ?? formatFloat32(this.float32Bytes());
  }

  /** The JSON text as a string (e.g. as a pgvector literal). */
  jsonText(): string {
    return this.jsonBytes().toString('latin1');
  }

  /** Little-endian float32 bytes (a new buffer): the upstream's own when it sent base64, else its numbers rounded to float32. */
  float32Bytes(): Buffer {
    if (!this.b64) return ownCopy(float32Of(this.json!));
    // Only an answer's first base64 vector was decoded when it arrived (the others were checked by length).
    const bytes = Buffer.from(this.b64.toString('latin1'), 'base64');
    if (bytes.length !== this.dims! * 4) throw malformedUpstreamResponse('an embedding is not base64 of float32 values');
    return bytes;
  }

  float32(): Float32Array {
    const bytes = this.float32Bytes();
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  /** The base64 text of the float32 values, as bytes (what a base64 answer carries between its quotes). */
  base64Bytes(): Buffer {
    return this.b64 ?? base64Text(float32Of(this.json!));
  }

  base64(): string {
    return this.base64Bytes().toString('latin1');
  }

  /**
   * The same vector holding both forms (after one was derived for an answer), to cache in its place
   * (through `copyInto()`: the form it had is shared with this vector, not copied).
   */
  withBothForms(): StoredVector {
    if (this.json && this.b64) return this;
    return new StoredVector(this.dims, this.tokens, this.jsonBytes(), this.base64Bytes(), true);
  }
}

/** Rough cost of the JS objects around the bytes (StoredVector, Buffer views, LRU node). */
const OBJECT_OVERHEAD = 256;

/**
 * The bytes in memory of their own, 4-byte aligned: never a slice of a larger answer or of Node's
 * shared 8 KB pool, either of which a small cached vector would keep alive whole. (Only without an
 * arena: each such Buffer is external memory V8 collects with a full mark-compact; vector-arena.ts.)
 */
function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}

function base64Text(f32: Buffer): Buffer {
  return Buffer.from(f32.toString('base64'), 'latin1');
}

/** Where float text is read to: one buffer for the process, grown as needed. */
let floats = new Float32Array(2048);

/**
 * The float text's numbers as little-endian float32 bytes (each as JSON.parse reads it, rounded to
 * float32), in a buffer the next call reuses: copy or encode them before calling again. A text that
 * is not a list of numbers gets JSON.parse's error.
 */
function float32Of(json: Buffer): Buffer {
  let n = parseFloatList(json, 0, json.length, floats);
  if (n === -1) {
    const count = countFloatList(json, 0, json.length);
    if (count > floats.length) {
      floats = new Float32Array(count);
      n = parseFloatList(json, 0, json.length, floats);
    }
  }
  const values = n === -1 ? Float32Array.from(JSON.parse(json.toString('latin1')) as number[]) : floats.subarray(0, n);
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function formatFloat32(f32: Buffer): Buffer {
  const parts = new Array<string>(f32.length / 4);
  for (let i = 0; i < parts.length; i++) {
    const value = f32.readFloatLE(i * 4);
    if (!Number.isFinite(value)) throw malformedUpstreamResponse('an embedding holds a value that is not a finite number');
    parts[i] = shortestFloat32(value);
  }
  return Buffer.from(`[${parts.join(',')}]`, 'latin1');
}

/** The shortest decimal that reads back (rounded to float32) as `value`, e.g. 0.1 rather than 0.10000000149011612. */
export function shortestFloat32(value: number): string {
  if (!Number.isFinite(value)) return '0';
  if (value === 0) return '0';
  // Most float32 values need 8 or 9 digits (9 always read back): start at 8, and go down only from
  // there, rather than up from 1 (half the CPU; the same strings on 3 million random float32s).
  let digits = 9;
  if (readsBack(value, 8)) for (digits = 8; digits > 1 && readsBack(value, digits - 1); ) digits--;
  return String(Number(value.toPrecision(digits)));
}

function readsBack(value: number, digits: number): boolean {
  return Math.fround(Number(value.toPrecision(digits))) === value;
}
