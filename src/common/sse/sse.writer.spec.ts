import { jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseHeartbeat } from './sse-heartbeat.js';
import { SseWriter } from './sse.writer.js';

/** Records what SseWriter does to a response; `write` answers `writeResult` (false = buffer full). */
class FakeResponse extends EventEmitter {
  readonly calls: string[] = [];
  readonly frames: string[] = [];
  status?: number;
  headers?: OutgoingHttpHeaders;
  writableEnded = false;
  destroyed = false;
  writeResult = true;
  endCalls = 0;

  writeHead(status: number, headers: OutgoingHttpHeaders): this {
    this.calls.push('writeHead');
    this.status = status;
    this.headers = headers;
    return this;
  }

  flushHeaders(): void {
    this.calls.push('flushHeaders');
  }

  write(chunk: string): boolean {
    this.calls.push('write');
    this.frames.push(chunk);
    return this.writeResult;
  }

  end(): this {
    this.calls.push('end');
    this.endCalls++;
    this.writableEnded = true;
    return this;
  }

  get pings(): number {
    return this.frames.filter((frame) => frame === ': ping\n\n').length;
  }
}

function setup(heartbeatMs = 0): { res: FakeResponse; writer: SseWriter } {
  const res = new FakeResponse();
  return { res, writer: new SseWriter(res as unknown as ServerResponse, heartbeatMs > 0 ? new SseHeartbeat(heartbeatMs) : undefined) };
}

const never = new AbortController().signal;

/** True when `promise` has settled after the pending microtasks and I/O callbacks have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe(SseWriter.name, () => {
  const writers: SseWriter[] = [];
  /** An opened writer, ended after the test. */
  const opened = (heartbeatMs: number): { res: FakeResponse; writer: SseWriter } => {
    const made = setup(heartbeatMs);
    writers.push(made.writer);
    made.writer.open({});
    return made;
  };
  afterEach(() => {
    for (const writer of writers.splice(0)) writer.end();
    jest.restoreAllMocks();
  });

  describe('open', () => {
    it('writes 200 with SSE headers and flushes them at once', () => {
      const { res, writer } = setup();
      writer.open({});
      expect(res.calls).toEqual(['writeHead', 'flushHeaders']);
      expect(res.status).toBe(200);
      expect(res.headers).toEqual(
        expect.objectContaining({
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        }),
      );
    });

    it('adds the extra headers', () => {
      const { res, writer } = setup();
      writer.open({ 'x-request-id': 'req-1', 'server-timing': 'ballast;dur=1' });
      expect(res.headers).toEqual(expect.objectContaining({ 'x-request-id': 'req-1', 'server-timing': 'ballast;dur=1' }));
      expect(res.headers?.['content-type']).toBe('text/event-stream; charset=utf-8');
    });

    it('writes no frame on open', () => {
      const { res, writer } = setup();
      writer.open({});
      expect(res.frames).toEqual([]);
    });
  });

  describe('frames', () => {
    it('data writes `data: <json>\\n\\n`', async () => {
      const { res, writer } = setup();
      writer.open({});
      await expect(writer.data({ content: 'Hello' }, never)).resolves.toBeUndefined();
      expect(res.frames).toEqual(['data: {"content":"Hello"}\n\n']);
    });

    it('keeps a newline inside a token inside the JSON, so the frame is not broken', async () => {
      const { res, writer } = setup();
      writer.open({});
      await expect(writer.data({ content: 'line one\n\nline two\r\n' }, never)).resolves.toBeUndefined();
      const [frame] = res.frames;
      expect(frame).toBe('data: {"content":"line one\\n\\nline two\\r\\n"}\n\n');
      // Exactly one event: a single data line and a single blank-line terminator.
      expect(frame.split('\n')).toEqual(['data: {"content":"line one\\n\\nline two\\r\\n"}', '', '']);
      expect(JSON.parse(frame.slice('data: '.length))).toEqual({ content: 'line one\n\nline two\r\n' });
    });

    it('done writes `data: [DONE]\\n\\n`', () => {
      const { res, writer } = setup();
      writer.open({});
      writer.done();
      expect(res.frames).toEqual(['data: [DONE]\n\n']);
    });

    it('error writes an `error` event with the JSON body', () => {
      const { res, writer } = setup();
      writer.open({});
      const body = { error: { message: 'Upstream did not answer\nin time', type: 'timeout_error', param: null, code: 'upstream_timeout' } };
      writer.error(body);
      expect(res.frames).toEqual([`event: error\ndata: ${JSON.stringify(body)}\n\n`]);
      expect(res.frames[0].split('\n')).toHaveLength(4);
    });

    it('writes frames in the order given', async () => {
      const { res, writer } = setup();
      writer.open({});
      await writer.data({ content: 'a' }, never);
      await writer.data({ content: 'b' }, never);
      writer.done();
      expect(res.frames).toEqual(['data: {"content":"a"}\n\n', 'data: {"content":"b"}\n\n', 'data: [DONE]\n\n']);
    });

    it('writes nothing once the response has ended or was destroyed', async () => {
      const { res, writer } = setup();
      writer.open({});
      res.writableEnded = true;
      await expect(writer.data({ content: 'late' }, never)).resolves.toBeUndefined();
      writer.done();
      res.writableEnded = false;
      res.destroyed = true;
      writer.error({ error: { message: 'late' } });
      expect(res.frames).toEqual([]);
    });
  });

  describe('back-pressure', () => {
    it("waits for 'drain' when write returns false", async () => {
      const { res, writer } = setup();
      writer.open({});
      res.writeResult = false;
      const written = writer.data({ content: 'big' }, never);
      await expect(isSettled(written)).resolves.toBe(false);
      expect(res.frames).toHaveLength(1);
      res.emit('drain');
      await expect(written).resolves.toBeUndefined();
    });

    it('does not wait when write returns true', async () => {
      const { res, writer } = setup();
      writer.open({});
      await expect(isSettled(writer.data({ content: 'x' }, never))).resolves.toBe(true);
      expect(res.listenerCount('drain')).toBe(0);
    });

    it('stops waiting (rejects with AbortError) when the signal aborts', async () => {
      const { res, writer } = setup();
      writer.open({});
      res.writeResult = false;
      const client = new AbortController();
      const written = writer.data({ content: 'big' }, client.signal);
      await expect(isSettled(written)).resolves.toBe(false);
      client.abort();
      await expect(written).rejects.toMatchObject({ name: 'AbortError' });
      expect(res.listenerCount('drain')).toBe(0);
    });
  });

  describe('heartbeat', () => {
    it('writes `: ping\\n\\n` after heartbeatMs of silence', async () => {
      const { res } = opened(30);
      await sleep(100);
      expect(res.pings).toBeGreaterThanOrEqual(2);
      expect(res.frames.every((frame) => frame === ': ping\n\n')).toBe(true);
    });

    it('does not ping while writes keep happening', async () => {
      const { res, writer } = opened(50);
      const started = performance.now();
      while (performance.now() - started < 200) {
        await writer.data({ content: 't' }, never);
        await sleep(10);
      }
      expect(res.pings).toBe(0);
      expect(res.frames.length).toBeGreaterThan(5);
    });

    it('one timer serves every open stream: each silent one pings, a busy one does not, and the timer stops with the last', async () => {
      const intervals = jest.spyOn(globalThis, 'setInterval');
      const cleared = jest.spyOn(globalThis, 'clearInterval');
      const heartbeat = new SseHeartbeat(40);
      const streams = Array.from({ length: 3 }, () => {
        const res = new FakeResponse();
        const writer = new SseWriter(res as unknown as ServerResponse, heartbeat);
        writer.open({});
        return { res, writer };
      });
      expect(intervals).toHaveBeenCalledTimes(1);
      expect(heartbeat.size).toBe(3);
      const busy = streams[2];
      const started = performance.now();
      while (performance.now() - started < 200) {
        await busy.writer.data({ content: 't' }, never);
        await sleep(5);
      }
      expect(streams[0].res.pings).toBeGreaterThanOrEqual(3);
      expect(streams[1].res.pings).toBeGreaterThanOrEqual(3);
      expect(busy.res.pings).toBe(0);
      streams[0].writer.end();
      streams[1].writer.end();
      expect(cleared).not.toHaveBeenCalled();
      busy.writer.end();
      expect(cleared).toHaveBeenCalledWith(intervals.mock.results[0].value);
      expect(heartbeat.size).toBe(0);
    });

    it('is off when heartbeatMs is 0', async () => {
      const intervals = jest.spyOn(globalThis, 'setInterval');
      const { res } = opened(0);
      await sleep(40);
      expect(res.pings).toBe(0);
      expect(intervals).not.toHaveBeenCalled();
    });
  });

  describe('end', () => {
    it('ends the response once, however often it is called', () => {
      const { res, writer } = setup(20);
      writer.open({});
      writer.end();
      writer.end();
      expect(res.endCalls).toBe(1);
    });

    it('stops the heartbeat', async () => {
      const intervals = jest.spyOn(globalThis, 'setInterval');
      const cleared = jest.spyOn(globalThis, 'clearInterval');
      const { res, writer } = setup(20);
      writer.open({});
      expect(intervals).toHaveBeenCalledTimes(1);
      const heartbeat = intervals.mock.results[0].value;
      writer.end();
      expect(cleared).toHaveBeenCalledWith(heartbeat);
      const pingsAtEnd = res.pings;
      await sleep(70);
      expect(res.pings).toBe(pingsAtEnd);
    });

    it('stops the heartbeat even when the response was already destroyed', async () => {
      const intervals = jest.spyOn(globalThis, 'setInterval');
      const cleared = jest.spyOn(globalThis, 'clearInterval');
      const { res, writer } = setup(20);
      writer.open({});
      res.destroyed = true;
      writer.end();
      expect(res.endCalls).toBe(0);
      expect(cleared).toHaveBeenCalledWith(intervals.mock.results[0].value);
    });

    it('is safe before open', () => {
      const { res, writer } = setup(20);
      writer.end();
      expect(res.endCalls).toBe(1);
    });
  });
});
