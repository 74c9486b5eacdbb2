/**
 * A real HTTP server (node:http only) speaking a small subset of the OpenAI API, for e2e tests and
 * benchmarks of the gateway. Listens on 127.0.0.1 on a random port; point OPENAI_BASE_URL at `baseUrl`.
 *
 * Routes: POST /v1/chat/completions (plain + SSE streaming), POST /v1/embeddings, GET /v1/models.
 * Everything else is a 404 JSON error. Latency and faults (see `Fault`) apply to the three routes;
 * `failureRate` makes a share of them fail at random (a flaky provider), `counters` say how many it saw.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Answer normally (a placeholder in the `faults` queue: "this request succeeds"). */
  | { kind: 'none' }
  /** Answer with this status and JSON body (default: OpenAI-style server_error). */
  | { kind: 'status'; status: number; body?: unknown; retryAfter?: string }
  /** Destroy the socket without answering. */
  | { kind: 'reset' }
  /** Accept, never answer (until the client aborts or the server closes). */
  | { kind: 'stall' }
  /** 200 with content-type application/json and body 'not json{'. */
  | { kind: 'malformed' }
  /** 200 with content-type application/json and exactly this body (e.g. JSON a parse and re-serialisation would change). */
  | { kind: 'raw'; body: string }
  /** Stream requests: send N chunks then destroy the socket (no [DONE]). Non-stream requests: same as reset. */
  | { kind: 'cut-stream'; afterChunks: number }
  /** Stream requests: send all chunks, then end the response without 'data: [DONE]'. Non-stream: no effect. */
  | { kind: 'no-done' };

export interface FakeUpstreamKnobs {
  /** Delay before answering (headers) any request. Default 0. */
  latencyMs: number;
  /** Delay between stream chunks. Default 0 (still one setTimeout per chunk). */
  streamIntervalMs: number;
  /** Tokens for streams; null = derive from the reply text (words with their trailing spaces). */
  streamTokens: string[] | null;
  /** Applied to every request while set. */
  fault: Fault | null;
  /** A queue: each request shifts one fault off first (takes precedence over `fault`). */
  faults: Fault[];
  /** Share (0-1) of requests that get `randomFault` at random, when neither `faults` nor `fault` applies. Default 0. */
  failureRate: number;
  /** What a random failure is. Default a 500 (OpenAI-style server_error). */
  randomFault: Fault;
  /** Seed for the failure draws (a repeatable sequence from each reset); null = Math.random. Default null. */
  failureSeed: number | null;
  /** Default embedding size when the request has no `dimensions`. Default 8. */
  embeddingDims: number;
  /**
   * What an `encoding_format: "base64"` request gets: base64 vectors ('honour', default), float
   * vectors anyway ('ignore'), or a 400 naming encoding_format ('refuse').
   */
  embeddingBase64: 'honour' | 'ignore' | 'refuse';
  /**
   * Every input gets one precomputed vector and the answer is put together from its text: a fast
   * upstream for load tests, whose own CPU cost stays out of the measurement. Default false.
   */
  embeddingShared: boolean;
  /** Record every request in `requests` (default true). Turn off in long benchmarks to keep memory flat. */
  recordRequests: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when possible, the raw text otherwise, undefined when the body was empty. */
  body: unknown;
}

export interface FakeUpstreamCounters {
  requests: number;
  chat: number;
  embeddings: number;
  models: number;
  streamsStarted: number;
  /** Streams the server ended normally (with [DONE], or without it under the 'no-done' fault). */
  streamsCompleted: number;
  /** Streams the client closed before they ended (a 'cut-stream' fault is neither completed nor aborted). */
  streamsAborted: number;
  inFlight: number;
  maxInFlight: number;
  /** Total number of inputs received over all /v1/embeddings requests. */
  embeddingInputs: number;
  /** Requests answered with `randomFault` because of `failureRate`. */
  randomFailures: number;
}

type Route = 'chat' | 'embeddings' | 'models';
type JsonObject = Record<string, unknown>;
type StreamState = 'none' | 'streaming' | 'completed' | 'cut';

interface RequestContext {
  timer: NodeJS.Timeout | null;
  stream: StreamState;
}

const defaultKnobs = (): FakeUpstreamKnobs => ({
  latencyMs: 0,
  streamIntervalMs: 0,
  streamTokens: null,
  fault: null,
  faults: [],
  failureRate: 0,
  randomFault: { kind: 'status', status: 500 },
  failureSeed: null,
  embeddingDims: 8,
  embeddingBase64: 'honour',
  embeddingShared: false,
  recordRequests: true,
});

const zeroCounters = (): FakeUpstreamCounters => ({
  requests: 0,
  chat: 0,
  embeddings: 0,
  models: 0,
  streamsStarted: 0,
  streamsCompleted: 0,
  streamsAborted: 0,
  inFlight: 0,
  maxInFlight: 0,
  embeddingInputs: 0,
  randomFailures: 0,
});

const MODELS_BODY = JSON.stringify({
  object: 'list',
  data: [
    { id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' },
    { id: 'fake-embedding', object: 'model', created: 0, owned_by: 'fake' },
  ],
});
const MALFORMED_BODY = 'not json{';
const DONE_FRAME = 'data: [DONE]\n\n';
const SSE_HEADERS: http.OutgoingHttpHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

function isRecord(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function openAiError(message: string, type: string, param: string | null, code: string | null): JsonObject {
  return { error: { message, type, param, code } };
}

/** Number of whitespace-separated words (the fake's notion of a "token"). */
function countWords(text: string): number {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
    if (space) inWord = false;
    else if (!inWord) {
      inWord = true;
      count++;
    }
  }
  return count;
}

/** Text of an OpenAI message content: a string, or an array of parts ({type:'text', text}). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    let out = '';
    for (const part of content) {
      if (typeof part === 'string') out += part;
      else if (isRecord(part) && typeof part.text === 'string') out += part.text;
    }
    return out;
  }
  return JSON.stringify(content);
}

/** 'Echo: ' + the content of the last user message. */
export function fakeReply(messages: Array<{ role: string; content: unknown }>): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m && m.role === 'user') return 'Echo: ' + contentText(m.content);
  }
  return 'Echo: ';
}

/** Split into words keeping the whitespace attached: 'Echo: hello world' -> ['Echo: ', 'hello ', 'world']. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text.length > 0 ? [text] : []);
}

/**
 * Deterministic fake embedding: FNV-1a of the text seeds a per-dimension integer mixer; the vector is
 * L2-normalised (so values are in [-1, 1]) and rounded to 6 decimals.
 */
export function fakeEmbedding(text: string, dims: number): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const n = Math.max(0, Math.floor(dims));
  const raw = new Array<number>(n);
  let norm = 0;
  for (let i = 0; i < n; i++) {
    // murmur3 fmix32 of (hash + i * golden ratio)
    let x = (h + Math.imul(i + 1, 0x9e3779b9)) | 0;
    x ^= x >>> 16;
    x = Math.imul(x, 0x85ebca6b);
    x ^= x >>> 13;
    x = Math.imul(x, 0xc2b2ae35);
    x ^= x >>> 16;
    const v = (x >>> 0) / 0xffffffff - 0.5; // [-0.5, 0.5]
    raw[i] = v;
    norm += v * v;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < n; i++) {
    const v = Math.round(raw[i] * scale * 1e6) / 1e6;
    raw[i] = v === 0 ? 0 : v; // no -0
  }
  return raw;
}

/** Base64 of the little-endian float32 bytes, as OpenAI returns for encoding_format: 'base64'. */
export function embeddingToBase64(vector: number[]): string {
  const buf = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) buf.writeFloatLE(vector[i], i * 4);
  return buf.toString('base64');
}

/** mulberry32: a small seeded PRNG in [0, 1), for repeatable failure draws. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sharedVectors = new Map<string, string>();

/** An embeddings answer giving every input the same vector, its JSON text made once per (dims, encoding). */
function sharedEmbeddingsBody(count: number, dims: number, base64: boolean, model: string): string {
  const key = `${dims}:${base64}`;
  let vector = sharedVectors.get(key);
  if (vector === undefined) {
    const values = fakeEmbedding('shared', dims);
    vector = base64 ? JSON.stringify(embeddingToBase64(values)) : JSON.stringify(values);
    sharedVectors.set(key, vector);
  }
  const items = new Array<string>(count);
  for (let i = 0; i < count; i++) items[i] = `{"object":"embedding","index":${i},"embedding":${vector}}`;
  return `{"object":"list","data":[${items.join(',')}],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${count},"total_tokens":${count}}}`;
}

function parseBody(raw: string): { ok: true; value: unknown } | { ok: false; text: string } {
  if (raw.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, text: raw };
  }
}

export class FakeUpstream {
  readonly port: number;
  knobs: FakeUpstreamKnobs;
  requests: RecordedRequest[] = [];
  counters: FakeUpstreamCounters = zeroCounters();

  private readonly server: http.Server;
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private random: () => number = Math.random;

  private constructor(server: http.Server, port: number, knobs: Partial<FakeUpstreamKnobs>) {
    this.server = server;
    this.port = port;
    this.knobs = { ...defaultKnobs(), ...knobs };
    this.knobs.faults = [...this.knobs.faults];
    this.reseed();
  }

  private reseed(): void {
    this.random = this.knobs.failureSeed === null ? Math.random : seededRandom(this.knobs.failureSeed);
  }

  static async start(knobs: Partial<FakeUpstreamKnobs> = {}): Promise<FakeUpstream> {
    let self: FakeUpstream | null = null;
    const server = http.createServer({ noDelay: true }, (req, res) => {
      if (self) self.handle(req, res);
      else res.destroy();
    });
    // Generous keep-alive so benchmark clients keep reusing connections; close() destroys them anyway.
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    self = new FakeUpstream(server, port, knobs);
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get baseUrl(): string {
    return `${this.url}/v1`;
  }

  /** Resolves once predicate() is true (polled every 10 ms); rejects after timeoutMs. */
  waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = (): void => {
        let ok: boolean;
        try {
          ok = predicate();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (ok) resolve();
        else if (Date.now() >= deadline) reject(new Error(`FakeUpstream.waitFor timed out after ${timeoutMs}ms`));
        else setTimeout(check, 10);
      };
      check();
    });
  }

  /**
   * Restores the default knobs (optionally overridden), clears requests and counters. `knobs` and
   * `counters` are updated in place so references held by tests stay valid. `inFlight` is a live gauge
   * and keeps counting requests still open; `maxInFlight` restarts from it.
   */
  reset(knobs: Partial<FakeUpstreamKnobs> = {}): void {
    Object.assign(this.knobs, defaultKnobs(), knobs);
    this.knobs.faults = [...this.knobs.faults];
    this.reseed();
    this.requests = [];
    const inFlight = this.counters.inFlight;
    Object.assign(this.counters, zeroCounters(), { inFlight, maxInFlight: inFlight });
  }

  /** Destroys every open socket (stalled and idle keep-alive ones too) and stops listening. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    return this.closing;
  }

  // ---------------------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const c = this.counters;
    c.requests++;
    c.inFlight++;
    if (c.inFlight > c.maxInFlight) c.maxInFlight = c.inFlight;

    const ctx: RequestContext = { timer: null, stream: 'none' };
    res.once('close', () => {
      this.counters.inFlight--;
      if (ctx.timer) {
        clearTimeout(ctx.timer);
        ctx.timer = null;
      }
      if (ctx.stream === 'streaming') {
        ctx.stream = 'cut';
        if (!this.closing) this.counters.streamsAborted++;
      }
    });

    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => undefined); // client went away while sending; res 'close' does the bookkeeping
    req.on('end', () => {
      const raw = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      this.dispatch(req, res, ctx, raw);
    });
  }

  private dispatch(req: http.IncomingMessage, res: http.ServerResponse, ctx: RequestContext, raw: string): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const parsed = parseBody(raw);

    if (this.knobs.recordRequests) {
      this.requests.push({ method, path, headers: req.headers, body: parsed.ok ? parsed.value : parsed.text });
    }

    let route: Route | null = null;
    if (method === 'POST' && path === '/v1/chat/completions') route = 'chat';
    else if (method === 'POST' && path === '/v1/embeddings') route = 'embeddings';
    else if (method === 'GET' && path === '/v1/models') route = 'models';

    if (route === null) {
      this.sendJson(res, 404, openAiError(`Unknown request URL: ${method} ${path}`, 'invalid_request_error', null, 'unknown_url'));
      return;
    }
    this.counters[route]++;

    let fault = this.knobs.faults.length > 0 ? (this.knobs.faults.shift() ?? null) : this.knobs.fault;
    if (fault === null && this.knobs.failureRate > 0 && this.random() < this.knobs.failureRate) {
      fault = this.knobs.randomFault;
      this.counters.randomFailures++;
    }
    const body = parsed.ok ? parsed.value : undefined;
    const invalidJson = !parsed.ok;
    const answer = (): void => {
      ctx.timer = null;
      if (res.destroyed) return;
      this.answer(route, fault, body, invalidJson, req, res, ctx);
    };
    if (this.knobs.latencyMs > 0) ctx.timer = setTimeout(answer, this.knobs.latencyMs);
    else answer();
  }

  private answer(
    route: Route,
    fault: Fault | null,
    body: unknown,
    invalidJson: boolean,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
  ): void {
    const isStream = route === 'chat' && isRecord(body) && body.stream === true;

    if (fault) {
      switch (fault.kind) {
        case 'status': {
          const payload =
            fault.body !== undefined
              ? fault.body
              : openAiError(`fake upstream error ${fault.status}`, 'server_error', null, null);
          const headers: http.OutgoingHttpHeaders = {};
          if (fault.retryAfter !== undefined) headers['retry-after'] = fault.retryAfter;
          this.sendJson(res, fault.status, payload, headers);
          return;
        }
        case 'reset':
          req.socket.destroy();
          return;
        case 'stall':
          return;
        case 'malformed':
          this.sendRaw(res, 200, MALFORMED_BODY);
          return;
        case 'raw':
          this.sendRaw(res, 200, fault.body);
          return;
        case 'cut-stream':
          if (!isStream) {
            req.socket.destroy();
            return;
          }
          break;
        case 'no-done':
        case 'none':
          break;
      }
    }

    if (invalidJson) {
      this.sendJson(
        res,
        400,
        openAiError(
          'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)',
          'invalid_request_error',
          null,
          null,
        ),
      );
      return;
    }

    switch (route) {
      case 'models':
        this.sendRaw(res, 200, MODELS_BODY);
        return;
      case 'embeddings':
        this.embeddings(res, body);
        return;
      case 'chat':
        this.chat(req, res, ctx, body, fault);
        return;
    }
  }

  private chat(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    body: unknown,
    fault: Fault | null,
  ): void {
    const b: JsonObject = isRecord(body) ? body : {};
    const rawMessages = b.messages;
    if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
      this.sendJson(res, 400, openAiError("'messages' is required", 'invalid_request_error', 'messages', null));
      return;
    }
    const model = typeof b.model === 'string' && b.model.length > 0 ? b.model : 'fake-model';
    if (model === 'unknown-model') {
      this.sendModelNotFound(res, model);
      return;
    }

    const messages: Array<{ role: string; content: unknown }> = [];
    let promptTokens = 0;
    for (const m of rawMessages) {
      if (!isRecord(m)) continue;
      const role = typeof m.role === 'string' ? m.role : '';
      messages.push({ role, content: m.content });
      promptTokens += countWords(contentText(m.content));
    }
    const reply = fakeReply(messages);
    const id = `chatcmpl-fake-${this.nextId++}`;
    const created = Math.floor(Date.now() / 1000);

    if (b.stream !== true) {
      const completionTokens = countWords(reply);
      this.sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      });
      return;
    }

    const tokens = this.knobs.streamTokens ?? splitTokens(reply);
    const includeUsage = isRecord(b.stream_options) && b.stream_options.include_usage === true;
    const frames: string[] = [];
    const chunk = (choices: unknown[], usage?: JsonObject): string =>
      `data: ${JSON.stringify(
        usage
          ? { id, object: 'chat.completion.chunk', created, model, choices, usage }
          : { id, object: 'chat.completion.chunk', created, model, choices },
      )}\n\n`;
    if (tokens.length === 0) {
      frames.push(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    }
    for (let i = 0; i < tokens.length; i++) {
      const delta = i === 0 ? { role: 'assistant', content: tokens[i] } : { content: tokens[i] };
      frames.push(chunk([{ index: 0, delta, finish_reason: null }]));
    }
    frames.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
    if (includeUsage) {
      const completionTokens = tokens.length;
      frames.push(
        chunk([], { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }),
      );
    }

    const cutAfter = fault?.kind === 'cut-stream' ? Math.max(0, Math.floor(fault.afterChunks)) : -1;
    const noDone = fault?.kind === 'no-done';
    this.stream(req, res, ctx, frames, cutAfter, noDone);
  }

  private stream(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    ctx: RequestContext,
    frames: string[],
    cutAfter: number,
    noDone: boolean,
  ): void {
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    ctx.stream = 'streaming';
    this.counters.streamsStarted++;

    const interval = Math.max(0, this.knobs.streamIntervalMs);
    const limit = cutAfter >= 0 ? Math.min(cutAfter, frames.length) : frames.length;
    let i = 0;
    const step = (): void => {
      ctx.timer = null;
      if (ctx.stream !== 'streaming' || res.destroyed) return;
      if (i < limit) {
        res.write(frames[i++]);
        ctx.timer = setTimeout(step, interval);
        return;
      }
      if (cutAfter >= 0) {
        ctx.stream = 'cut';
        const socket = req.socket;
        // Let what was written reach the kernel before killing the connection.
        if (socket.writableLength > 0) socket.once('drain', () => socket.destroy());
        else socket.destroy();
        return;
      }
      ctx.stream = 'completed';
      this.counters.streamsCompleted++;
      if (noDone) res.end();
      else res.end(DONE_FRAME);
    };
    ctx.timer = setTimeout(step, interval);
  }

  private embeddings(res: http.ServerResponse, body: unknown): void {
    const b: JsonObject = isRecord(body) ? body : {};
    const input = b.input;
    let inputs: string[];
    if (typeof input === 'string') inputs = [input];
    else if (Array.isArray(input) && input.length > 0) {
      inputs = input.map((v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)));
    } else {
      this.sendJson(res, 400, openAiError("'input' is required", 'invalid_request_error', 'input', null));
      return;
    }
    const model = typeof b.model === 'string' && b.model.length > 0 ? b.model : 'fake-embedding';
    if (model === 'unknown-model') {
      this.sendModelNotFound(res, model);
      return;
    }
    this.counters.embeddingInputs += inputs.length;

    const dims =
      typeof b.dimensions === 'number' && Number.isInteger(b.dimensions) && b.dimensions > 0
        ? b.dimensions
        : this.knobs.embeddingDims;
    if (b.encoding_format === 'base64' && this.knobs.embeddingBase64 === 'refuse') {
      this.sendJson(res, 400, openAiError("Invalid value for 'encoding_format': 'base64' is not supported", 'invalid_request_error', 'encoding_format', null));
      return;
    }
    const base64 = b.encoding_format === 'base64' && this.knobs.embeddingBase64 === 'honour';
    if (this.knobs.embeddingShared) {
      this.sendRaw(res, 200, sharedEmbeddingsBody(inputs.length, dims, base64, model));
      return;
    }
    let tokens = 0;
    const data = inputs.map((text, index) => {
      tokens += countWords(text);
      const vector = fakeEmbedding(text, dims);
      return { object: 'embedding', index, embedding: base64 ? embeddingToBase64(vector) : vector };
    });
    this.sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  private sendModelNotFound(res: http.ServerResponse, model: string): void {
    this.sendJson(
      res,
      404,
      openAiError(`The model \`${model}\` does not exist`, 'invalid_request_error', null, 'model_not_found'),
    );
  }

  private sendJson(res: http.ServerResponse, status: number, payload: unknown, headers?: http.OutgoingHttpHeaders): void {
    this.sendRaw(res, status, JSON.stringify(payload) ?? 'null', headers);
  }

  private sendRaw(res: http.ServerResponse, status: number, text: string, headers?: http.OutgoingHttpHeaders): void {
    if (res.destroyed || res.headersSent) return;
    res.writeHead(status, {
      ...headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }
}
