// Physical-limit baseline: a bare node:http reverse proxy with one keep-alive agent and no framework.
// Env: UPSTREAM_URL (http://127.0.0.1:PORT), PORT (default 0 = random), HOST (default 127.0.0.1),
// RELAY_MAX_SOCKETS (default 256; 0 = no bound, for the concurrent-streams scenario).
// Forked: sends { type: 'ready', port } over IPC; otherwise prints the address.
import http from 'node:http';

const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8080');
const maxSockets = Number(process.env.RELAY_MAX_SOCKETS ?? 256);
const agent = new http.Agent({ keepAlive: true, maxSockets: maxSockets > 0 ? maxSockets : Infinity });
const HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const strip = (raw) => {
  const out = {};
  for (const [k, v] of Object.entries(raw)) if (!HOP.has(k)) out[k] = v;
  return out;
};

const server = http.createServer({ noDelay: true }, (req, res) => {
  const up = http.request(
    { agent, host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: strip(req.headers) },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, strip(upRes.headers));
      upRes.pipe(res);
    },
  );
  up.on('socket', (s) => s.setNoDelay(true));
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad gateway"}');
    else res.destroy();
  });
  res.on('close', () => { if (!res.writableFinished) up.destroy(); });
  req.pipe(up);
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address();
  if (process.send) process.send({ type: 'ready', port });
  else console.log(`relay listening on http://127.0.0.1:${port} -> ${upstream.origin}`);
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
