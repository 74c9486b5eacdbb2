/** What holds a piece of the arena: told when its bytes move (compaction) so it reads them from the new place. */
export interface ArenaTenant {
  moved(piece: ArenaPiece, bytes: Buffer): void;
}

/** One allocation: `bytes` is a view into a segment, owned by `tenant` until released. */
export interface ArenaPiece {
  bytes: Buffer;
  /** Undefined once released. */
  segment: Segment | undefined;
  readonly tenant: ArenaTenant;
  /** The segment's live pieces are a list through the pieces themselves (no Set table to grow and shrink). */
  prev: ArenaPiece | undefined;
  next: ArenaPiece | undefined;
}

interface Segment {
  readonly memory: Buffer;
  used: number;
  liveBytes: number;
  /** Live pieces: how many, and the list's head. */
  pieces: number;
  first: ArenaPiece | undefined;
}

export interface ArenaOptions {
  /** Bytes per segment (default 4 MiB); a piece larger than a quarter of it is not taken. */
  segmentBytes?: number;
  /** The first and the largest Buffer segments are cut from (default 16 MiB and 256 MiB). */
  minChunkBytes?: number;
  maxChunkBytes?: number;
  /**
   * While this many segments wait for their readers (a call held up on a slow upstream keeps its
   * lease), no new memory is taken: pieces are refused and callers keep their own copies (default 64).
   */
  maxRetired?: number;
}

/**
 * Memory for long-lived byte strings (cached embeddings) that is reused instead of allocated anew.
 *
 * Why: every fresh Buffer is an ArrayBuffer V8 counts as external memory, and each 64 MB of it
 * starts a full mark-compact of the heap. An embeddings cache that takes 1.2 MB of new vectors a
 * call and lets old ones go makes V8 collect every ~50 calls, and the collections (with their
 * concurrent marking and sweeping threads) cost more CPU than the rest of the call. Bytes copied
 * into recycled segments add nothing after warm-up.
 *
 * How it stays safe: pieces are views into segments; a segment whose pieces have all been released
 * is *retired*, and it is reused only once every lease that was open when it retired has ended. Any
 * code that reads pieces (an answer being assembled from cached vectors) holds a lease from before
 * it first sees a piece until it is done with it. While many segments wait for a long lease (a call
 * held up on a slow upstream), the arena takes no more memory: it refuses pieces and callers keep
 * their own copies, so memory stays bounded and the arena resumes once the lease ends.
 *
 * Fragmentation is bounded: when a new segment is needed while the segments in use hold more than
 * 1.5 times the live bytes (plus two segments), the emptiest one's pieces are moved to the current
 * segment (their tenants are told) and it retires.
 */
export class VectorArena {
  readonly segmentBytes: number;
  private readonly minChunkBytes: number;
  private readonly maxChunkBytes: number;
  private readonly maxRetired: number;
  private readonly inUse = new Set<Segment>();
  private current: Segment | undefined;
  private readonly free: Segment[] = [];
  private readonly retired: Array<{ segment: Segment; epoch: number }> = [];
  private readonly openLeases = new Map<number, number>();
  private epoch = 0;
  private live = 0;
  private chunkBytes = 0;
  private segmentsReused = 0;
  private piecesRefused = 0;

  constructor(options: ArenaOptions = {}) {
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.minChunkBytes = options.minChunkBytes ?? 16 * 1024 * 1024;
    this.maxChunkBytes = options.maxChunkBytes ?? 256 * 1024 * 1024;
    this.maxRetired = options.maxRetired ?? 64;
  }

  /** Bytes held by the pieces not yet released. */
  get liveBytes(): number {
    return this.live;
  }

  /** Bytes of memory taken for segments (in use, free, waiting for readers): the arena never gives memory back. */
  get heldBytes(): number {
    return this.chunkBytes;
  }

  get stats(): { segmentsInUse: number; free: number; retired: number; reused: number; refused: number; openLeases: number } {
    let open = 0;
    for (const count of this.openLeases.values()) open += count;
    return { segmentsInUse: this.inUse.size, free: this.free.length, retired: this.retired.length, reused: this.segmentsReused, refused: this.piecesRefused, openLeases: open };
  }

  /**
   * A lease for reading pieces: call the returned function (once; later calls do nothing) when
   * done. Segments released meanwhile are not reused before then.
   */
  lease(): () => void {
    const epoch = this.epoch;
    this.openLeases.set(epoch, (this.openLeases.get(epoch) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = this.openLeases.get(epoch)! - 1;
      if (left > 0) this.openLeases.set(epoch, left);
      else {
        this.openLeases.delete(epoch);
        this.reuseRetired();
      }
    };
  }

  /** A copy of `bytes` in the arena, owned by `tenant`; undefined if too large for a segment (keep your own copy). */
  copy(bytes: Uint8Array, tenant: ArenaTenant): ArenaPiece | undefined {
    const piece = this.allocate(bytes.length, tenant);
    piece?.bytes.set(bytes);
    return piece;
  }

  /** `size` bytes (4-byte aligned start) owned by `tenant`, to fill in; undefined if too large. */
  allocate(size: number, tenant: ArenaTenant): ArenaPiece | undefined {
    if (size > this.segmentBytes / 4) return undefined;
    const current = this.current;
    const fits = current !== undefined && current.used + size <= this.segmentBytes;
    if (!fits && this.free.length === 0 && this.retired.length >= this.maxRetired) {
      // Memory waits for a reader (a long lease): no more is taken meanwhile; the caller's own
      // copy is the GC's to free, as without an arena, until the lease ends.
      this.piecesRefused++;
      return undefined;
    }
    const segment = this.room(size);
    const start = segment.used;
    segment.used = start + ((size + 3) & ~3);
    segment.liveBytes += size;
    this.live += size;
    const piece: ArenaPiece = { bytes: segment.memory.subarray(start, start + size), segment, tenant, prev: undefined, next: undefined };
    link(segment, piece);
    return piece;
  }

  /** The piece's bytes may be reused once current readers are done. */
  release(piece: ArenaPiece): void {
    const segment = piece.segment;
    if (segment === undefined) return;
    unlink(segment, piece);
    piece.segment = undefined;
    segment.liveBytes -= piece.bytes.length;
    this.live -= piece.bytes.length;
    if (segment.pieces === 0 && segment !== this.current) this.retire(segment);
  }

  /** A segment with room for `size` bytes: the current one, else a reused or new one (compacting first if fragmented). */
  private room(size: number): Segment {
    const current = this.current;
    if (current && current.used + size <= this.segmentBytes) return current;
    if (current && current.pieces === 0) this.retire(current);
    this.current = this.fresh();
    if (this.inUse.size * this.segmentBytes > 1.5 * this.live + 2 * this.segmentBytes) this.compactOne();
    return this.current.used + size <= this.segmentBytes ? this.current : this.room(size);
  }

  private fresh(): Segment {
    if (this.free.length === 0) this.grow();
    const segment = this.free.pop()!;
    segment.used = 0;
    segment.liveBytes = 0;
    this.inUse.add(segment);
    return segment;
  }

  /**
   * New segments, cut from one Buffer that doubles in size each time (up to `maxChunkBytes`): V8
   * runs a full collection for each 64 MB of new external memory, so filling a 2 GB cache 4 MB at a
   * time would cost ~30 of them per GB, in chunks ~10 in all. Pages are only touched (and count in
   * RSS) as segments fill.
   */
  private grow(): void {
    const held = this.chunkBytes;
    const size = Math.max(this.minChunkBytes, Math.min(this.maxChunkBytes, held));
    const count = Math.max(1, Math.floor(size / this.segmentBytes));
    const chunk = Buffer.allocUnsafeSlow(count * this.segmentBytes);
    this.chunkBytes += chunk.length;
    for (let i = count - 1; i >= 0; i--) {
      this.free.push({ memory: chunk.subarray(i * this.segmentBytes, (i + 1) * this.segmentBytes), used: 0, liveBytes: 0, pieces: 0, first: undefined });
    }
  }

  /** Moves the pieces of the emptiest segment (at most 2/3 full) into the current one; that segment retires. */
  private compactOne(): void {
    let emptiest: Segment | undefined;
    for (const segment of this.inUse) {
      if (segment !== this.current && (emptiest === undefined || segment.liveBytes < emptiest.liveBytes)) emptiest = segment;
    }
    if (emptiest === undefined || emptiest.liveBytes * 3 > this.segmentBytes * 2) return;
    const current = this.current!;
    if (current.used + emptiest.liveBytes + 4 * emptiest.pieces > this.segmentBytes) return;
    for (let piece = emptiest.first; piece !== undefined; ) {
      const following = piece.next;
      const size = piece.bytes.length;
      const start = current.used;
      current.used = start + ((size + 3) & ~3);
      const bytes = current.memory.subarray(start, start + size);
      bytes.set(piece.bytes);
      unlink(emptiest, piece);
      emptiest.liveBytes -= size;
      link(current, piece);
      current.liveBytes += size;
      piece.bytes = bytes;
      piece.tenant.moved(piece, bytes);
      piece = following;
    }
    this.retire(emptiest);
  }

  private retire(segment: Segment): void {
    if (!this.inUse.delete(segment)) return;
    if (segment === this.current) this.current = undefined;
    this.retired.push({ segment, epoch: this.epoch });
    this.epoch++;
    this.reuseRetired();
  }

  /** Retired segments no open lease can still be reading become free. */
  private reuseRetired(): void {
    let oldestOpen = Infinity;
    for (const epoch of this.openLeases.keys()) if (epoch < oldestOpen) oldestOpen = epoch;
    while (this.retired.length > 0 && this.retired[0].epoch < oldestOpen) {
      this.free.push(this.retired.shift()!.segment);
      this.segmentsReused++;
    }
  }
}

function link(segment: Segment, piece: ArenaPiece): void {
  piece.segment = segment;
  piece.prev = undefined;
  piece.next = segment.first;
  if (segment.first) segment.first.prev = piece;
  segment.first = piece;
  segment.pieces++;
}

function unlink(segment: Segment, piece: ArenaPiece): void {
  if (piece.prev) piece.prev.next = piece.next;
  else segment.first = piece.next;
  if (piece.next) piece.next.prev = piece.prev;
  piece.prev = piece.next = undefined;
  segment.pieces--;
}
