import type { FastifyReply } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface LingerLimits {
  /** Longest time spent reading and discarding a refused body after the answer. */
  maxMs: number;
  /** Most bytes read and discarded after the answer. */
  maxBytes: number;
}

/** How often a lingering socket's byte count is checked against `maxBytes`. */
const BYTES_CHECK_MS = 20;

/**
 * `Expect: 100-continue` with a Content-Length over the body limit: no `100 Continue` is sent, so
 * the client never uploads; the request goes on to Fastify, which answers 413 from the header alone.
 * Anything else gets its `100 Continue` as Node would send it. (Node emits 'checkContinue' instead
 * of 'request' when it is listened to.)
 */
export function refuseOversizedBeforeUpload(server: Server, bodyLimitBytes: number): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!(Number(request.headers['content-length']) > bodyLimitBytes)) response.writeContinue();
    server.emit('request', request, response);
  });
}

/**
 * A lingering close (nginx's `lingering_close`) for an answer sent before the request body was
 * read, such as a 413. Fastify marks those `Connection: close`, and Node then destroys the socket
 * with the client's unread bytes in it: the kernel answers them with a reset, and a client still
 * uploading (Node's fetch, undici, the SDKs) sees EPIPE / ECONNRESET instead of the answer. Instead
 * the connection is left open, Node reads and discards the rest of the body, and the socket is
 * destroyed only if that takes longer than `maxMs` or more than `maxBytes`: a client can always
 * read its answer, and nothing holds a socket forever.
 */
export function lingerAfterEarlyAnswer(reply: FastifyReply, limits: LingerLimits): void {
  const request = reply.request.raw;
  if (request.complete) return;
  reply.removeHeader('connection');
  reply.raw.once('finish', () => {
    if (request.complete) return;
    const socket = request.socket;
    const startBytes = socket.bytesRead;
    const cut = (): void => {
      done();
      socket.destroy();
    };
    // Polled: the http server reads the socket in C++ (no 'data' events), but bytesRead counts.
    const meter = setInterval(() => {
      if (socket.bytesRead - startBytes > limits.maxBytes) cut();
    }, BYTES_CHECK_MS);
    meter.unref();
    const timer = setTimeout(cut, limits.maxMs);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      clearInterval(meter);
      socket.off('close', done);
      request.off('end', done);
    };
    socket.once('close', done);
    request.once('end', done);
  });
}
