// A lean HTTP/1.1 keep-alive client for the open-loop overload generator (classify-overload.mjs).
//
// Why not undici: the load generator runs on the same 2-vCPU machine as ballast, its model worker
// and its event loop, so every millisecond of CPU the client spends is a millisecond a core is not
// free when ballast's event loop wakes up. undici's Pool spends ~0.3 ms of CPU per call here (its
// dispatcher, llhttp, a stream per body); at 2.5x overload (~1,075 calls/s) that is a third of a core.
// This client writes each request in one write and parses only what the bench reads (status,
// headers, a Content-Length body), the way wrk and autocannon keep their own cost out of the
// measurement. It implements the one call load-gen.mjs's doRequest makes:
// `request({ method, path, headers, body })` → `{ statusCode, headers, body: { text() } }`,
// with header names in lower case, like undici. Not a general client: no chunked bodies (ballast
// sends Content-Length on every non-streaming answer; a chunked one fails the call), no pipelining,
// no redirects, no timeouts (the run's own end bounds it).
import net from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');

export class RawHttpPool {
  /** @param {string} origin http://host:port  @param {{ connections?: number }} options most sockets open at once */
  constructor(origin, { connections = 4096 } = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new Error(`RawHttpPool speaks plain http only, not ${url.protocol}`);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
    this.max = connections;
    this.idle = [];
    this.open = new Set();
    this.queued = [];
    this.destroyed = false;
  }

  request({ method = 'GET', path, headers = {}, body }) {
    return new Promise((resolve, reject) => {
      if (this.destroyed) return reject(new Error('RawHttpPool destroyed'));
      const payload = body === undefined || body === null ? null : Buffer.from(body);
      let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
      for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
      if (payload) head += `content-length: ${payload.length}\r\n`;
      const headBytes = Buffer.from(`${head}\r\n`, 'latin1');
      const job = { data: payload ? Buffer.concat([headBytes, payload]) : headBytes, resolve, reject };
      const conn = this.idle.pop();
      if (conn) this.send(conn, job);
      else if (this.open.size < this.max) this.send(this.connect(), job);
      else this.queued.push(job);
    });
  }

  destroy() {
    this.destroyed = true;
    for (const conn of this.open) conn.socket.destroy();
    for (const job of this.queued.splice(0)) job.reject(new Error('RawHttpPool destroyed'));
    return Promise.resolve();
  }

  connect() {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    const conn = { socket, job: null, buf: null, bodyStart: -1, length: 0, statusCode: 0, headers: null, closed: false };
    this.open.add(conn);
    socket.on('data', (chunk) => this.onData(conn, chunk));
    socket.on('error', (err) => this.onClose(conn, err));
    socket.on('close', () => this.onClose(conn, new Error('the server closed the connection')));
    return conn;
  }

  send(conn, job) {
    conn.job = job;
    conn.socket.write(job.data);
  }

  /** The socket is free again: the next waiting request takes it, or it idles. */
  release(conn) {
    const next = this.queued.shift();
    if (next) this.send(conn, next);
    else this.idle.push(conn);
  }

  onData(conn, chunk) {
    conn.buf = conn.buf ? Buffer.concat([conn.buf, chunk]) : chunk;
    if (conn.bodyStart < 0) {
      const end = conn.buf.indexOf(HEADER_END);
      if (end < 0) return;
      const lines = conn.buf.toString('latin1', 0, end).split('\r\n');
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        if (colon > 0) headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      if (headers['transfer-encoding'] !== undefined) return this.fail(conn, new Error(`RawHttpPool cannot read a ${headers['transfer-encoding']} body`));
      conn.statusCode = Number(lines[0].slice(9, 12));
      conn.headers = headers;
      conn.length = Number(headers['content-length'] ?? 0);
      conn.bodyStart = end + HEADER_END.length;
    }
    const bodyEnd = conn.bodyStart + conn.length;
    if (conn.buf.length < bodyEnd) return;
    if (conn.buf.length > bodyEnd || !conn.job) return this.fail(conn, new Error('RawHttpPool got bytes it did not ask for'));
    const text = conn.buf.toString('utf8', conn.bodyStart, bodyEnd);
    const { job, statusCode, headers } = conn;
    conn.job = null;
    conn.buf = null;
    conn.bodyStart = -1;
    if (headers.connection === 'close') conn.socket.end();
    else this.release(conn);
    job.resolve({ statusCode, headers, body: { text: () => Promise.resolve(text) } });
  }

  fail(conn, err) {
    conn.socket.destroy();
    this.onClose(conn, err);
  }

  onClose(conn, err) {
    if (conn.closed) return;
    conn.closed = true;
    this.open.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (conn.job) conn.job.reject(err);
    conn.job = null;
    // a request waiting for a socket gets a new one
    if (!this.destroyed && this.queued.length > 0) this.send(this.connect(), this.queued.shift());
  }
}
