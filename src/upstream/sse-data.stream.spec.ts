import { jest } from '@jest/globals';
import { sseData } from './sse-data.stream.js';

const encoder = new TextEncoder();

async function* chunksOf(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

/** Splits the bytes of `text` at the given byte offsets. */
function splitAt(text: string, offsets: number[]): Uint8Array[] {
  const bytes = encoder.encode(text);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    parts.push(bytes.subarray(start, offset));
    start = offset;
  }
  return parts;
}

async function collect(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of source) out.push(item);
  return out;
}

const noop = (): void => undefined;

// CRLF line ends, multi-byte characters (2-, 3- and 4-byte UTF-8), a comment, a multi-line data
// field, a named event that is not ours, and an `error` event that is.
const STREAM = [
  ': keep-alive comment\r\n\r\n',
  'data: {"t":"héllo"}\r\n\r\n',
  'data: {"t":"日本語 🌍"}\r\n\r\n',
  'event: ping\r\ndata: not-for-us\r\n\r\n',
  'data: line one\r\ndata: line two\r\n\r\n',
  'event: error\r\ndata: {"error":{"message":"oops"}}\r\n\r\n',
  'data: {"t":"last"}\r\n\r\n',
  'data: [DONE]\r\n\r\n',
].join('');

const EXPECTED = ['{"t":"héllo"}', '{"t":"日本語 🌍"}', 'line one\nline two', '{"error":{"message":"oops"}}', '{"t":"last"}'];

describe(sseData.name, () => {
  it('yields data payloads in order from a single chunk', async () => {
    await expect(collect(sseData(chunksOf([encoder.encode(STREAM)]), noop))).resolves.toEqual(EXPECTED);
  });

  it('yields the same payloads however the bytes are split in two (every byte boundary)', async () => {
    const length = encoder.encode(STREAM).length;
    for (let offset = 1; offset < length; offset++) {
      const got = await collect(sseData(chunksOf(splitAt(STREAM, [offset])), noop));
      expect({ offset, got }).toEqual({ offset, got: EXPECTED });
    }
  });

  it('yields the same payloads when fed one byte at a time', async () => {
    const length = encoder.encode(STREAM).length;
    const offsets = Array.from({ length: length - 1 }, (_, i) => i + 1);
    await expect(collect(sseData(chunksOf(splitAt(STREAM, offsets)), noop))).resolves.toEqual(EXPECTED);
  });

  it('decodes a multi-byte character split across chunks', async () => {
    const text = 'data: 🌍\n\n';
    const emojiStart = encoder.encode('data: ').length;
    // Split inside the 4-byte emoji, twice.
    const parts = splitAt(text, [emojiStart + 1, emojiStart + 3]);
    await expect(collect(sseData(chunksOf(parts), noop))).resolves.toEqual(['🌍']);
  });

  it('handles a \\r\\n split between \\r and \\n inside a multi-line event', async () => {
    const text = 'data: a\r\ndata: b\r\n\r\n';
    const crAt = text.indexOf('\r') + 1; // just after the first \r
    await expect(collect(sseData(chunksOf(splitAt(text, [crAt])), noop))).resolves.toEqual(['a\nb']);
  });

  it('skips comments and keep-alives', async () => {
    const text = ': ping\n\n:\n\ndata: x\n\n: ping\n\n';
    await expect(collect(sseData(chunksOf([encoder.encode(text)]), noop))).resolves.toEqual(['x']);
  });

  it('handles a stream that ends without [DONE]', async () => {
    const parts = [encoder.encode('data: 1\n\n'), encoder.encode('data: 2\n\n')];
    await expect(collect(sseData(chunksOf(parts), noop))).resolves.toEqual(['1', '2']);
  });

  it('yields nothing for an empty stream', async () => {
    await expect(collect(sseData(chunksOf([]), noop))).resolves.toEqual([]);
  });

  it('stops at [DONE] without reading further, ignoring events after it in the same chunk', async () => {
    let pulledAfterDone = false;
    let released = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield encoder.encode('data: 1\n\n');
        yield encoder.encode('data: 2\n\ndata: [DONE]\n\ndata: after-done\n\n');
        pulledAfterDone = true;
        yield encoder.encode('data: 3\n\n');
      } finally {
        released = true;
      }
    }
    await expect(collect(sseData(source(), noop))).resolves.toEqual(['1', '2']);
    expect(pulledAfterDone).toBe(false);
    // The source iterator was closed (so the connection can be released).
    expect(released).toBe(true);
  });

  it('propagates an error from the source after the payloads that came before it', async () => {
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield encoder.encode('data: 1\n\n');
      throw new Error('terminated');
    }
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const data of sseData(broken(), noop)) got.push(data);
      })(),
    ).rejects.toThrow('terminated');
    expect(got).toEqual(['1']);
  });

  it('calls onChunk once per chunk, comments and the [DONE] chunk included', async () => {
    const onChunk = jest.fn<() => void>();
    const parts = [': ping\n\n', 'data: 1\n', '\n', 'data: [DONE]\n\n', 'data: never\n\n'].map((part) => encoder.encode(part));
    await expect(collect(sseData(chunksOf(parts), onChunk))).resolves.toEqual(['1']);
    expect(onChunk).toHaveBeenCalledTimes(4);
  });

  it('calls onChunk as each chunk arrives, before its payloads are yielded', async () => {
    const calls: string[] = [];
    const parts = ['data: a\n\n', 'data: b\n\n'].map((part) => encoder.encode(part));
    for await (const data of sseData(chunksOf(parts), () => calls.push('chunk'))) calls.push(data);
    expect(calls).toEqual(['chunk', 'a', 'chunk', 'b']);
  });
});
