// Experiment, cited in docs/benchmarks.md, "Per-request costs the code cites": client CPU per JSON call, undici request() vs dispatch().
// Client CPU per JSON call with undici, four ways, at concurrency 64 against a local node:http server
// in a child process: request() + body.text(), the same with
// a cancel signal (ballast's AbortEmitter form), dispatch() with the older handler API, and dispatch()
// with the documented one (onRequestStart / onResponse*), which UndiciTransport.exchange uses.
// 8 interleaved rounds of 20,000 calls (after 2,000 of warm-up); prints each round and the median.
//   node bench/experiments/undici-dispatch.mjs [variant ...]
// Experiment tooling, not part of the server.
import { fork } from 'node:child_process';
import { Agent } from 'undici';
import { EventEmitter } from 'node:events';
if (process.argv[2] === 'server') {
  const http = await import('node:http');
  const body = JSON.stringify({ id: 'x', object: 'chat.completion', model: 'fake-model', choices: [{ index: 0, message: { role: 'assistant', content: 'hello there friend' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }); res.end(body); }); });
  s.listen(0, '127.0.0.1', () => process.send(s.address().port));
} else {
  const child = fork(new URL(import.meta.url).pathname, ['server']);
  const port = await new Promise((r) => child.once('message', r));
  const origin = `http://127.0.0.1:${port}`;
  const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30000 });
  const reqBody = JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: 'hello' }] });
  const headers = { accept: 'application/json', authorization: 'Bearer x', 'content-type': 'application/json' };
  class Cancel extends EventEmitter { aborted = false; }
  const variants = {
    request: async () => { const r = await agent.request({ origin, path: '/v1/chat/completions', method: 'POST', headers, body: reqBody }); return JSON.parse(await r.body.text()); },
    requestSignal: async () => { const sig = new Cancel(); const r = await agent.request({ origin, path: '/v1/chat/completions', method: 'POST', headers, body: reqBody, signal: sig }); return JSON.parse(await r.body.text()); },
    dispatch: () => new Promise((resolve, reject) => {
      const chunks = []; let status = 0;
      agent.dispatch({ origin, path: '/v1/chat/completions', method: 'POST', headers, body: reqBody }, {
        onConnect(abort) { this.abort = abort; },
        onHeaders(statusCode) { status = statusCode; return true; },
        onData(chunk) { chunks.push(chunk); return true; },
        onComplete() { resolve(JSON.parse(chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString())); },
        onError(err) { reject(err); },
      });
    }),
    dispatchNew: () => new Promise((resolve, reject) => {
      const chunks = []; let status = 0;
      agent.dispatch({ origin, path: '/v1/chat/completions', method: 'POST', headers, body: reqBody }, {
        onRequestStart(controller) { this.controller = controller; },
        onResponseStart(controller, statusCode, headers) { status = statusCode; },
        onResponseData(controller, chunk) { chunks.push(chunk); },
        onResponseEnd() { resolve(JSON.parse(chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString())); },
        onResponseError(controller, err) { reject(err); },
      });
    }),
  };
  const order = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(variants);
  const results = {};
  for (let round = 0; round < 8; round++) for (const name of order) {
    const f = variants[name]; const N = 20000, C = 64;
    let left = 2000; await Promise.all(Array.from({ length: C }, async () => { while (left-- > 0) await f(); }));
    const c0 = process.cpuUsage();
    left = N; await Promise.all(Array.from({ length: C }, async () => { while (left-- > 0) await f(); }));
    const c = process.cpuUsage(c0);
    (results[name] ??= []).push(((c.user + c.system) / N).toFixed(1));
  }
  const median = (v) => { const a = v.map(Number).sort((x, y) => x - y); return ((a[(a.length - 1) >> 1] + a[a.length >> 1]) / 2).toFixed(1); };
  for (const [k, v] of Object.entries(results)) console.log(k.padEnd(14), 'client CPU µs/call per round:', v.join(' '), ' median', median(v));
  child.kill(); process.exit(0);
}
