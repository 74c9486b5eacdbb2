import { ArenaPiece, ArenaTenant, VectorArena } from './vector-arena.js';

/** A tenant that records where its piece lives, as StoredVector does. */
class Holder implements ArenaTenant {
  piece?: ArenaPiece;
  bytes?: Buffer;
  moved(piece: ArenaPiece, bytes: Buffer): void {
    expect(piece).toBe(this.piece);
    this.bytes = bytes;
  }
}

function put(arena: VectorArena, fill: number, size = 1000): Holder {
  const holder = new Holder();
  holder.piece = arena.copy(Buffer.alloc(size, fill), holder);
  holder.bytes = holder.piece!.bytes;
  return holder;
}

describe(VectorArena.name, () => {
  it('reuses a segment whose pieces were all released once no lease from before is open', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4096 });
    const endLease = arena.lease();
    const first = [put(arena, 1, 1024), put(arena, 2, 1024), put(arena, 3, 1024), put(arena, 4, 1024)];
    put(arena, 5, 1024); // the second segment is now the current one
    for (const h of first) arena.release(h.piece!);
    expect(arena.stats.retired).toBe(1);
    // More segments are needed meanwhile: new ones, and the retired one is left untouched.
    for (let i = 0; i < 8; i++) put(arena, 9, 1024);
    expect(arena.stats.reused).toBe(0);
    expect(arena.heldBytes).toBeGreaterThanOrEqual(4 * 4096);
    expect(first[0].bytes!.every((b) => b === 1)).toBe(true);
    endLease();
    expect(arena.stats.retired).toBe(0);
    expect(arena.stats.reused).toBe(1);
    const held = arena.heldBytes;
    for (let i = 0; i < 4 * (arena.stats.free + 1); i++) put(arena, 10, 1024);
    expect(first[0].bytes!.every((b) => b === 10)).toBe(true);
    expect(arena.heldBytes).toBe(held);
  });

  it('a lease opened after a segment retired does not hold it back', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4096 });
    const pieces = [put(arena, 1), put(arena, 2), put(arena, 3), put(arena, 4), put(arena, 5)];
    for (const h of pieces.slice(0, 4)) arena.release(h.piece!);
    const endLease = arena.lease();
    expect(arena.stats.retired).toBe(0);
    expect(arena.stats.reused).toBe(1);
    endLease();
  });

  it('gives no piece larger than a quarter segment (the caller keeps its own copy)', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4096 });
    expect(arena.copy(Buffer.alloc(1025), new Holder())).toBeUndefined();
    expect(arena.copy(Buffer.alloc(1024), new Holder())).toBeDefined();
  });

  it('compacts when the segments in use hold more than 1.5 times the live bytes, telling tenants where their bytes went', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4096 });
    // Ten segments of three pieces each; then all but one piece of each are released.
    const kept: Holder[] = [];
    for (let s = 0; s < 10; s++) {
      const trio = [put(arena, s * 3), put(arena, s * 3 + 1), put(arena, s * 3 + 2)];
      kept.push(trio[0]);
      arena.release(trio[1].piece!);
      arena.release(trio[2].piece!);
    }
    for (let i = 0; i < 40; i++) arena.release(put(arena, 200).piece!);
    expect(arena.stats.segmentsInUse * 4096).toBeLessThanOrEqual(1.5 * arena.liveBytes + 3 * 4096);
    kept.forEach((h, s) => expect(h.bytes!.every((b) => b === s * 3)).toBe(true));
  });

  it('takes no more memory while segments wait for a long lease: pieces are refused until it ends', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4096, maxChunkBytes: 4096, maxRetired: 2 });
    const endLease = arena.lease(); // a call held up on a slow upstream
    const refusedAt: number[] = [];
    for (let i = 0; i < 40; i++) {
      const holder = new Holder();
      const piece = arena.copy(Buffer.alloc(1024, 1), holder);
      if (piece) arena.release(piece);
      else refusedAt.push(i);
    }
    expect(arena.stats.retired).toBe(2);
    expect(refusedAt.length).toBeGreaterThan(20);
    expect(arena.heldBytes).toBeLessThanOrEqual(4 * 4096);
    endLease();
    expect(arena.stats.retired).toBe(0);
    expect(put(arena, 2, 1024).piece).toBeDefined();
  });

  it('cuts segments from Buffers that double in size, so filling it makes few large allocations', () => {
    const arena = new VectorArena({ segmentBytes: 4096, minChunkBytes: 4 * 4096, maxChunkBytes: 32 * 4096 });
    const sizes: number[] = [];
    for (let i = 0; i < 4 * 100; i++) {
      const before = arena.heldBytes;
      put(arena, 1, 1024);
      if (arena.heldBytes !== before) sizes.push((arena.heldBytes - before) / 4096);
    }
    expect(sizes).toEqual([4, 4, 8, 16, 32, 32, 32]);
  });
});
