// The seed's embeddings approach, reproduced for the bench: the seed (a Python FastAPI app) embedded a
// batch by firing one upstream request per text, all at once (`asyncio.gather` over an httpx
// AsyncClient). Here: `POST /embeddings {texts, model?}` -> one upstream `POST /v1/embeddings
// {model, input: text}` per text, all at once (Promise.all), through one keep-alive http.Agent limited
// like httpx's default pool (max 100 connections, 20 kept alive when idle); answers
// `{embeddings, model}` in input order. No dedupe, no cache, no batching. If any upstream request
// fails the call fails (502), as an exception out of gather would.
//
// Env: UPSTREAM_URL (http://127.0.0.1:PORT, the fake upstream's origin), PORT (default 0 = random),
// HOST (default 127.0.0.1). Forked: sends { type: 'ready', port } over IPC; otherwise prints the address.
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080');
const DEFAULT_MODEL = 'text-embedding-3-small';
// httpx.Limits() defaults: max_connections=100, max_keepalive_connections=20.
const agent = new http.Agent({ keepAlive: true, maxSockets: 100, maxFreeSockets: 20 });

/** One upstream request for one text; resolves to its vector. */
function embedOne(model, text) {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ model, input: text });
    const req = http.request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path: '/v1/embeddings',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`upstream ${res.statusCode}`));
          try {
            const vector = JSON.parse(Buffer.concat(chunks).toString('utf8')).data[0].embedding;
            if (!Array.isArray(vector)) throw new Error('no embedding');
            resolve(vector);
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on('socket', (s) => s.setNoDelay(true));
    req.on('error', reject);
    req.end(payload);
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer({ noDelay: true }, (req, res) => {
  if (req.method !== 'POST' || req.url !== '/embeddings') return send(res, 404, { error: 'not found' });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { error: 'invalid JSON' });
    }
    const texts = body?.texts;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) {
      return send(res, 400, { error: 'texts must be a non-empty array of strings' });
    }
    const model = typeof body.model === 'string' && body.model ? body.model : DEFAULT_MODEL;
    Promise.all(texts.map((t) => embedOne(model, t))).then(
      (embeddings) => send(res, 200, { embeddings, model }),
      (err) => send(res, 502, { error: `upstream: ${err.message}` }),
    );
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ type: 'ready', port });
  else console.log(`seed embeddings listening on http://127.0.0.1:${port} -> ${upstream.origin}`);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
