import { performance } from 'node:perf_hooks';

export interface SseFrame {
  /** 'message' unless the frame named another event; 'comment' for `: ...` lines. */
  event: string;
  data: string;
  at: number;
}

export interface SseResult {
  status: number;
  headers: Headers;
  frames: SseFrame[];
  /** The raw body as received (for error answers that are not SSE). */
  text: string;
}

/**
 * POSTs JSON and reads the answer as SSE frames while they arrive. `onFrame` may return 'stop' to
 * disconnect mid-stream (the client going away).
 */
export async function postSse(
  url: string,
  body: unknown,
  onFrame: (frame: SseFrame) => 'stop' | void = () => undefined,
): Promise<SseResult> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  let text = '';
  let buffer = '';
  const decoder = new TextDecoder();
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const chunk = decoder.decode(value, { stream: true });
      text += chunk;
      buffer += chunk;
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const raw = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        const frame = parseFrame(raw);
        frames.push(frame);
        if (onFrame(frame) === 'stop') {
          controller.abort();
          return { status: response.status, headers: response.headers, frames, text };
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  }
  return { status: response.status, headers: response.headers, frames, text };
}

function parseFrame(raw: string): SseFrame {
  let event = 'message';
  const data: string[] = [];
  for (const line of raw.split('\n')) {
    if (line.startsWith(':')) return { event: 'comment', data: line.slice(1).trim(), at: performance.now() };
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { event, data: data.join('\n'), at: performance.now() };
}

export const contentOf = (frames: SseFrame[]): string =>
  frames
    .filter((f) => f.event === 'message' && f.data !== '[DONE]')
    .map((f) => (JSON.parse(f.data) as { content: string }).content)
    .join('');
