import { createParser, EventSourceMessage } from 'eventsource-parser';

/**
 * Turns an upstream SSE body into the `data` payloads of its events, in order, as they arrive.
 * Stops at `[DONE]`. Comments and keep-alives are skipped (but `onChunk` still sees every chunk, so
 * idle timers count them as life).
 */
export async function* sseData(chunks: AsyncIterable<Uint8Array>, onChunk: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const pending: string[] = [];
  let done = false;
  const parser = createParser({
    onEvent(event: EventSourceMessage) {
      if (done) return;
      if (event.data === '[DONE]') done = true;
      else if (event.event === undefined || event.event === 'message' || event.event === 'error') pending.push(event.data);
    },
  });
  for await (const chunk of chunks) {
    onChunk();
    parser.feed(decoder.decode(chunk, { stream: true }));
    while (pending.length > 0) yield pending.shift() as string;
    if (done) return;
  }
  parser.feed(decoder.decode());
  while (pending.length > 0) yield pending.shift() as string;
}
