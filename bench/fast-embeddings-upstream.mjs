// A fast OpenAI-compatible embeddings upstream for bench/embeddings-wire-scenario.mjs, as a local
// TEI, vLLM or Ollama on the same network would be: every answer is put together from precomputed
// vectors (a pool of EMB_POOL 1536-dim unit vectors, each float32 written in its shortest decimal as
// OpenAI writes them, ~10 digits: -0.0253948, 0.0012874361), picked by a hash of the text, so its own
// CPU per call is a concatenation. `POST */embeddings {input, encoding_format?, dimensions?}`.
// MODE=precomputed: the limit for a cache instead: every POST gets one fixed answer of EMB_TEXTS
// vectors (float, or base64 when the path contains "base64"), whatever it asked.
// Env: PORT (0), HOST (127.0.0.1), EMB_DIMS (1536), EMB_POOL (512), EMB_TEXTS (64).
// Forked: sends { type: 'ready', port } over IPC.
import http from 'node:http';

const DIMS = Number(process.env.EMB_DIMS ?? 1536);
const POOL = Number(process.env.EMB_POOL ?? 512);
const TEXTS = Number(process.env.EMB_TEXTS ?? 64);
const MODE = process.env.MODE ?? 'fast';

/** The shortest decimal that reads back as the same float32 (what numpy / OpenAI print). */
function shortestFloat32(value) {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return String(candidate);
  }
  return String(Number(value.toPrecision(9)));
}

/** A deterministic pseudo-random unit vector (xorshift32, Box-Muller). */
function unitVector(seed) {
  let x = seed * 2654435761 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) + 1) / 4294967297;
  };
  const v = new Float32Array(DIMS);
  let norm = 0;
  for (let i = 0; i < DIMS; i++) {
    const g = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    v[i] = g;
    norm += g * g;
  }
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < DIMS; i++) v[i] = Math.fround(v[i] * scale);
  return v;
}

const vectors = Array.from({ length: POOL }, (_, i) => {
  const v = unitVector(i + 1);
  return {
    float: Buffer.from(`[${Array.from(v, shortestFloat32).join(',')}]`),
    base64: Buffer.from(`"${Buffer.from(v.buffer).toString('base64')}"`),
  };
});

function pick(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return vectors[(h >>> 0) % POOL];
}

const CLOSE = Buffer.from('}');
function answer(texts, base64, model) {
  const parts = [Buffer.from('{"object":"list","data":[')];
  texts.forEach((text, index) => {
    parts.push(Buffer.from(`${index ? ',' : ''}{"object":"embedding","index":${index},"embedding":`), base64 ? pick(text).base64 : pick(text).float, CLOSE);
  });
  let tokens = 0;
  for (const text of texts) tokens += text.split(/\s+/).length;
  parts.push(Buffer.from(`],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`));
  return Buffer.concat(parts);
}

const fixed = {
  float: answer(Array.from({ length: TEXTS }, (_, i) => `fixed ${i}`), false, 'text-embedding-3-small'),
  base64: answer(Array.from({ length: TEXTS }, (_, i) => `fixed ${i}`), true, 'text-embedding-3-small'),
};

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET') return send(res, 200, Buffer.from('{"status":"ok"}'));
    if (MODE === 'precomputed') return send(res, 200, req.url.includes('base64') ? fixed.base64 : fixed.float);
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      return send(res, 400, Buffer.from('{"error":{"message":"bad json"}}'));
    }
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    if (!Array.isArray(input)) return send(res, 400, Buffer.from('{"error":{"message":"input is required"}}'));
    send(res, 200, answer(input, body.encoding_format === 'base64', body.model ?? 'text-embedding-3-small'));
  });
});
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ type: 'ready', port });
  else console.log(`fast embeddings upstream (${MODE}) on http://127.0.0.1:${port}`);
});
process.on('disconnect', () => process.exit(0));
