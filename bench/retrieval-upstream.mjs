// Embeddings upstream of the retrieval benchmark (forked by retrieval-scenario.mjs): POST
// /v1/embeddings answers each text's clustered vector (retrieval-data.mjs) at `dimensions` (or
// DIMS), at once. Its own process, so its JSON work never runs on ballast's or the bench's loop.
import http from 'node:http';
import { parseText, vectorFor } from './retrieval-data.mjs';

let dims = Number(process.env.DIMS ?? 384);
let inputs = 0;
let requests = 0;

const server = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const parsed = JSON.parse(body);
    const input = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
    const d = parsed.dimensions ?? dims;
    requests++;
    inputs += input.length;
    const data = input.map((text, index) => {
      const at = parseText(text);
      const v = at ? vectorFor(at.kind, at.i, at.n, d) : vectorFor('q', text.length, 1000, d);
      return `{"object":"embedding","index":${index},"embedding":[${Array.from(v, (x) => x.toFixed(6)).join(',')}]}`;
    });
    const tokens = input.length * 8;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"object":"list","model":"${parsed.model}","data":[${data.join(',')}],"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`);
  });
});

process.on('message', (m) => {
  if (m?.type === 'dims') {
    dims = m.dims;
    process.send({ type: 'dims-ok', inputs, requests });
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send({ type: 'ready', port: server.address().port }));
