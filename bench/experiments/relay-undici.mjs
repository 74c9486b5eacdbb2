// node:http server relaying to the upstream through an undici Agent (request + body.text()), to
// compare undici's client cost with node:http's Agent (bench/relay.mjs).
import http from 'node:http';
import { Agent } from 'undici';
const origin = process.env.UPSTREAM_URL;
const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30000 });
http.createServer({ noDelay: true }, async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const up = await agent.request({ origin, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: Buffer.concat(chunks) });
  const text = await up.body.text();
  res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}).listen(Number(process.env.PORT), '127.0.0.1');
