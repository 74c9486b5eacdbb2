import { createParser, EventSourceMessage, EventSourceParser } from 'eventsource-parser';

const STREAMING = { stream: true } as const;

/**
 * The `data` payloads of an upstream SSE body, fed chunk by chunk (synchronous, so a consumer can
 * parse and relay in one loop without another async layer per event). Stops at `[DONE]`. Comments,
 * keep-alives and other named events are skipped.
 */
export class SseDataParser {
  /** Payloads completed by the last `feed`/`end`, in order; the caller empties it. */
  readonly payloads: string[] = [];
  /** `[DONE]` arrived: nothing after it counts. */
  done = false;
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;

  constructor() {
    this.parser = createParser({
      onEvent: (event: EventSourceMessage) => {
        if (this.done) return;
        if (event.data === '[DONE]') this.done = true;
        else if (event.event === undefined || event.event === 'message' || event.event === 'error') this.payloads.push(event.data);
      },
    });
  }

  feed(chunk: Uint8Array): string[] {
    this.parser.feed(this.decoder.decode(chunk, STREAMING));
    return this.payloads;
  }

  /** The body ended: whatever the decoder still held. */
  end(): string[] {
    this.parser.feed(this.decoder.decode());
    return this.payloads;
  }
}

/**
 * Turns an upstream SSE body into the `data` payloads of its events, in order, as they arrive.
 * Stops at `[DONE]`. Comments and keep-alives are skipped (but `onChunk` still sees every chunk, so
 * idle timers count them as life).
 */
export async function* sseData(chunks: AsyncIterable<Uint8Array>, onChunk: () => void): AsyncGenerator<string> {
  const parser = new SseDataParser();
  for await (const chunk of chunks) {
    onChunk();
    const payloads = parser.feed(chunk);
    while (payloads.length > 0) yield payloads.shift() as string;
    if (parser.done) return;
  }
  const payloads = parser.end();
  while (payloads.length > 0) yield payloads.shift() as string;
}
