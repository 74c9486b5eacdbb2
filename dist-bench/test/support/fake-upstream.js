import * as http from 'node:http';
const defaultKnobs = () => ({
    latencyMs: 0,
    streamIntervalMs: 0,
    streamTokens: null,
    fault: null,
    faults: [],
    embeddingDims: 8,
    recordRequests: true,
});
const zeroCounters = () => ({
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
const SSE_HEADERS = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
};
function isRecord(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function openAiError(message, type, param, code) {
    return { error: { message, type, param, code } };
}
function countWords(text) {
    let count = 0;
    let inWord = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        const space = c === 32 || (c >= 9 && c <= 13) || c === 160;
        if (space)
            inWord = false;
        else if (!inWord) {
            inWord = true;
            count++;
        }
    }
    return count;
}
function contentText(content) {
    if (typeof content === 'string')
        return content;
    if (content === null || content === undefined)
        return '';
    if (Array.isArray(content)) {
        let out = '';
        for (const part of content) {
            if (typeof part === 'string')
                out += part;
            else if (isRecord(part) && typeof part.text === 'string')
                out += part.text;
        }
        return out;
    }
    return JSON.stringify(content);
}
export function fakeReply(messages) {
    for (let i = messages.length - 1; i >= 0; i--) {
        const m = messages[i];
        if (m && m.role === 'user')
            return 'Echo: ' + contentText(m.content);
    }
    return 'Echo: ';
}
export function splitTokens(text) {
    return text.match(/\s*\S+\s*/g) ?? (text.length > 0 ? [text] : []);
}
export function fakeEmbedding(text, dims) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        h ^= text.charCodeAt(i);
        h = Math.imul(h, 0x01000193);
    }
    const n = Math.max(0, Math.floor(dims));
    const raw = new Array(n);
    let norm = 0;
    for (let i = 0; i < n; i++) {
        let x = (h + Math.imul(i + 1, 0x9e3779b9)) | 0;
        x ^= x >>> 16;
        x = Math.imul(x, 0x85ebca6b);
        x ^= x >>> 13;
        x = Math.imul(x, 0xc2b2ae35);
        x ^= x >>> 16;
        const v = (x >>> 0) / 0xffffffff - 0.5;
        raw[i] = v;
        norm += v * v;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < n; i++) {
        const v = Math.round(raw[i] * scale * 1e6) / 1e6;
        raw[i] = v === 0 ? 0 : v;
    }
    return raw;
}
export function embeddingToBase64(vector) {
    const buf = Buffer.allocUnsafe(vector.length * 4);
    for (let i = 0; i < vector.length; i++)
        buf.writeFloatLE(vector[i], i * 4);
    return buf.toString('base64');
}
function parseBody(raw) {
    if (raw.length === 0)
        return { ok: true, value: undefined };
    try {
        return { ok: true, value: JSON.parse(raw) };
    }
    catch {
        return { ok: false, text: raw };
    }
}
export class FakeUpstream {
    port;
    knobs;
    requests = [];
    counters = zeroCounters();
    server;
    nextId = 1;
    closing = null;
    constructor(server, port, knobs) {
        this.server = server;
        this.port = port;
        this.knobs = { ...defaultKnobs(), ...knobs };
        this.knobs.faults = [...this.knobs.faults];
    }
    static async start(knobs = {}) {
        let self = null;
        const server = http.createServer({ noDelay: true }, (req, res) => {
            if (self)
                self.handle(req, res);
            else
                res.destroy();
        });
        server.keepAliveTimeout = 30_000;
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(0, '127.0.0.1', () => {
                server.off('error', reject);
                resolve();
            });
        });
        const { port } = server.address();
        self = new FakeUpstream(server, port, knobs);
        return self;
    }
    get url() {
        return `http://127.0.0.1:${this.port}`;
    }
    get baseUrl() {
        return `${this.url}/v1`;
    }
    waitFor(predicate, timeoutMs = 2000) {
        return new Promise((resolve, reject) => {
            const deadline = Date.now() + timeoutMs;
            const check = () => {
                let ok;
                try {
                    ok = predicate();
                }
                catch (err) {
                    reject(err instanceof Error ? err : new Error(String(err)));
                    return;
                }
                if (ok)
                    resolve();
                else if (Date.now() >= deadline)
                    reject(new Error(`FakeUpstream.waitFor timed out after ${timeoutMs}ms`));
                else
                    setTimeout(check, 10);
            };
            check();
        });
    }
    reset(knobs = {}) {
        Object.assign(this.knobs, defaultKnobs(), knobs);
        this.knobs.faults = [...this.knobs.faults];
        this.requests = [];
        const inFlight = this.counters.inFlight;
        Object.assign(this.counters, zeroCounters(), { inFlight, maxInFlight: inFlight });
    }
    close() {
        if (!this.closing) {
            this.closing = new Promise((resolve) => {
                this.server.close(() => resolve());
                this.server.closeAllConnections();
            });
        }
        return this.closing;
    }
    handle(req, res) {
        const c = this.counters;
        c.requests++;
        c.inFlight++;
        if (c.inFlight > c.maxInFlight)
            c.maxInFlight = c.inFlight;
        const ctx = { timer: null, stream: 'none' };
        res.once('close', () => {
            this.counters.inFlight--;
            if (ctx.timer) {
                clearTimeout(ctx.timer);
                ctx.timer = null;
            }
            if (ctx.stream === 'streaming') {
                ctx.stream = 'cut';
                if (!this.closing)
                    this.counters.streamsAborted++;
            }
        });
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('error', () => undefined);
        req.on('end', () => {
            const raw = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
            this.dispatch(req, res, ctx, raw);
        });
    }
    dispatch(req, res, ctx, raw) {
        const method = req.method ?? 'GET';
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        const path = q === -1 ? url : url.slice(0, q);
        const parsed = parseBody(raw);
        if (this.knobs.recordRequests) {
            this.requests.push({ method, path, headers: req.headers, body: parsed.ok ? parsed.value : parsed.text });
        }
        let route = null;
        if (method === 'POST' && path === '/v1/chat/completions')
            route = 'chat';
        else if (method === 'POST' && path === '/v1/embeddings')
            route = 'embeddings';
        else if (method === 'GET' && path === '/v1/models')
            route = 'models';
        if (route === null) {
            this.sendJson(res, 404, openAiError(`Unknown request URL: ${method} ${path}`, 'invalid_request_error', null, 'unknown_url'));
            return;
        }
        this.counters[route]++;
        const fault = this.knobs.faults.length > 0 ? (this.knobs.faults.shift() ?? null) : this.knobs.fault;
        const body = parsed.ok ? parsed.value : undefined;
        const invalidJson = !parsed.ok;
        const answer = () => {
            ctx.timer = null;
            if (res.destroyed)
                return;
            this.answer(route, fault, body, invalidJson, req, res, ctx);
        };
        if (this.knobs.latencyMs > 0)
            ctx.timer = setTimeout(answer, this.knobs.latencyMs);
        else
            answer();
    }
    answer(route, fault, body, invalidJson, req, res, ctx) {
        const isStream = route === 'chat' && isRecord(body) && body.stream === true;
        if (fault) {
            switch (fault.kind) {
                case 'status': {
                    const payload = fault.body !== undefined
                        ? fault.body
                        : openAiError(`fake upstream error ${fault.status}`, 'server_error', null, null);
                    const headers = {};
                    if (fault.retryAfter !== undefined)
                        headers['retry-after'] = fault.retryAfter;
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
                case 'cut-stream':
                    if (!isStream) {
                        req.socket.destroy();
                        return;
                    }
                    break;
                case 'no-done':
                    break;
            }
        }
        if (invalidJson) {
            this.sendJson(res, 400, openAiError('We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)', 'invalid_request_error', null, null));
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
    chat(req, res, ctx, body, fault) {
        const b = isRecord(body) ? body : {};
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
        const messages = [];
        let promptTokens = 0;
        for (const m of rawMessages) {
            if (!isRecord(m))
                continue;
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
        const frames = [];
        const chunk = (choices, usage) => `data: ${JSON.stringify(usage
            ? { id, object: 'chat.completion.chunk', created, model, choices, usage }
            : { id, object: 'chat.completion.chunk', created, model, choices })}\n\n`;
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
            frames.push(chunk([], { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens }));
        }
        const cutAfter = fault?.kind === 'cut-stream' ? Math.max(0, Math.floor(fault.afterChunks)) : -1;
        const noDone = fault?.kind === 'no-done';
        this.stream(req, res, ctx, frames, cutAfter, noDone);
    }
    stream(req, res, ctx, frames, cutAfter, noDone) {
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        ctx.stream = 'streaming';
        this.counters.streamsStarted++;
        const interval = Math.max(0, this.knobs.streamIntervalMs);
        const limit = cutAfter >= 0 ? Math.min(cutAfter, frames.length) : frames.length;
        let i = 0;
        const step = () => {
            ctx.timer = null;
            if (ctx.stream !== 'streaming' || res.destroyed)
                return;
            if (i < limit) {
                res.write(frames[i++]);
                ctx.timer = setTimeout(step, interval);
                return;
            }
            if (cutAfter >= 0) {
                ctx.stream = 'cut';
                const socket = req.socket;
                if (socket.writableLength > 0)
                    socket.once('drain', () => socket.destroy());
                else
                    socket.destroy();
                return;
            }
            ctx.stream = 'completed';
            this.counters.streamsCompleted++;
            if (noDone)
                res.end();
            else
                res.end(DONE_FRAME);
        };
        ctx.timer = setTimeout(step, interval);
    }
    embeddings(res, body) {
        const b = isRecord(body) ? body : {};
        const input = b.input;
        let inputs;
        if (typeof input === 'string')
            inputs = [input];
        else if (Array.isArray(input) && input.length > 0) {
            inputs = input.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
        }
        else {
            this.sendJson(res, 400, openAiError("'input' is required", 'invalid_request_error', 'input', null));
            return;
        }
        const model = typeof b.model === 'string' && b.model.length > 0 ? b.model : 'fake-embedding';
        if (model === 'unknown-model') {
            this.sendModelNotFound(res, model);
            return;
        }
        this.counters.embeddingInputs += inputs.length;
        const dims = typeof b.dimensions === 'number' && Number.isInteger(b.dimensions) && b.dimensions > 0
            ? b.dimensions
            : this.knobs.embeddingDims;
        const base64 = b.encoding_format === 'base64';
        let tokens = 0;
        const data = inputs.map((text, index) => {
            tokens += countWords(text);
            const vector = fakeEmbedding(text, dims);
            return { object: 'embedding', index, embedding: base64 ? embeddingToBase64(vector) : vector };
        });
        this.sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
    }
    sendModelNotFound(res, model) {
        this.sendJson(res, 404, openAiError(`The model \`${model}\` does not exist`, 'invalid_request_error', null, 'model_not_found'));
    }
    sendJson(res, status, payload, headers) {
        this.sendRaw(res, status, JSON.stringify(payload) ?? 'null', headers);
    }
    sendRaw(res, status, text, headers) {
        if (res.destroyed || res.headersSent)
            return;
        res.writeHead(status, {
            ...headers,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
        });
        res.end(text);
    }
}
