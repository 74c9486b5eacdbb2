// Bare node:http: POST /hello, JSON.parse the body, answer JSON.
import http from 'node:http';
http.createServer((req, res) => {
  let b = '';
  req.setEncoding('utf8');
  req.on('data', (c) => (b += c));
  req.on('end', () => {
    const body = JSON.parse(b);
    const out = JSON.stringify({ ok: true, n: Array.isArray(body?.messages) ? body.messages.length : 0 });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(out) });
    res.end(out);
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
