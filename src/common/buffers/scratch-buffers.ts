import type { RequestContext } from '../http/request-context.js';

/** A borrowed buffer: `bytes` to use until `release()` hands it back (once; later calls do nothing). */
export interface Scratch {
  readonly bytes: Buffer;
  release(): void;
}

/**
 * Reusable large buffers for bytes that live a few milliseconds (an upstream answer being read, an
 * answer being written). A fresh multi-megabyte Buffer costs ~10x its copy on this kind of machine
 * (new pages, external-memory accounting, GC pressure): 1.5-2.5 ms for a 1.3 MB concat against
 * 0.1-0.2 ms into a reused one. Sizes are rounded up to a power of two so buffers fit later requests;
 * free buffers are kept up to `maxKeptBytes` in all (idle memory stays bounded), the rest are left to
 * the GC. A buffer that is never released is simply not reused.
 */
export class ScratchBuffers {
  private readonly free: Buffer[] = [];
  private keptBytes = 0;

  constructor(private readonly maxKeptBytes = 64 * 1024 * 1024) {}

  take(size: number): Scratch {
    let index = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i].length >= size && (index === -1 || this.free[i].length < this.free[index].length)) index = i;
    }
    const whole = index === -1 ? Buffer.allocUnsafeSlow(roundUp(size)) : this.free.splice(index, 1)[0];
    if (index !== -1) this.keptBytes -= whole.length;
    let released = false;
    return {
      bytes: whole.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        if (this.keptBytes + whole.length > this.maxKeptBytes) return;
        this.free.push(whole);
        this.keptBytes += whole.length;
      },
    };
  }

  /**
   * `parts` one after another in a borrowed buffer: bytes copied, strings written as UTF-8 (no Buffer
   * made for them). The buffer is taken at the most a string's UTF-8 can take (3 bytes a UTF-16 unit),
   * so no string is read twice (once to measure it); the answer's `bytes` are what was written.
   */
  concat(parts: ReadonlyArray<Uint8Array | string>): Scratch {
    let room = 0;
    for (const part of parts) room += typeof part === 'string' ? 3 * part.length : part.length;
    const scratch = this.take(room);
    const bytes = scratch.bytes;
    let offset = 0;
    for (const part of parts) {
      if (typeof part === 'string') offset += bytes.write(part, offset);
      else {
        bytes.set(part, offset);
        offset += part.length;
      }
    }
    return { bytes: bytes.subarray(0, offset), release: scratch.release };
  }
}

function roundUp(size: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(size, 64 * 1024)));
}

/** The process's one set of scratch buffers (transport bodies and serialised answers share it). */
export const scratchBuffers = new ScratchBuffers();

/**
 * An answer body made of `parts`, in a scratch buffer handed back once the response is written (or
 * abandoned). Only for a body that goes straight to `reply.send()`.
 */
export function answerBody(parts: ReadonlyArray<Uint8Array | string>, ctx: RequestContext): Buffer {
  const scratch = scratchBuffers.concat(parts);
  ctx.afterResponse(scratch.release);
  return scratch.bytes;
}
