import { ScratchBuffers } from './scratch-buffers.js';

describe(ScratchBuffers.name, () => {
  it('hands back the same memory once released, never while borrowed', () => {
    const pool = new ScratchBuffers();
    const first = pool.take(100_000);
    const second = pool.take(100_000);
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer);
    first.release();
    first.release(); // twice is once
    const third = pool.take(90_000);
    expect(third.bytes.buffer).toBe(first.bytes.buffer);
    expect(third.bytes.length).toBe(90_000);
    expect(pool.take(90_000).bytes.buffer).not.toBe(first.bytes.buffer);
  });

  it('concatenates bytes and strings (as UTF-8) into one borrowed buffer', () => {
    const { bytes } = new ScratchBuffers().concat(['{"v":', Buffer.from('[1,2]'), ',"é":1}']);
    expect(bytes.toString()).toBe('{"v":[1,2],"é":1}');
    // Three-byte and four-byte characters: the buffer's length is exactly what was written.
    const wide = new ScratchBuffers().concat(['€', Buffer.from('x'), '😀€'.repeat(1000)]);
    expect(wide.bytes.length).toBe(Buffer.byteLength('€x' + '😀€'.repeat(1000)));
    expect(wide.bytes.toString()).toBe('€x' + '😀€'.repeat(1000));
  });

  it('keeps no more idle memory than its bound', () => {
    const pool = new ScratchBuffers(256 * 1024);
    const a = pool.take(200_000); // rounded up to 256 KiB
    const b = pool.take(200_000);
    a.release();
    b.release(); // over the bound: left to the GC
    expect(pool.take(200_000).bytes.buffer).toBe(a.bytes.buffer);
    expect(pool.take(200_000).bytes.buffer).not.toBe(b.bytes.buffer);
  });
});
