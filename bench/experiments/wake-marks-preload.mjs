// node --import ./bench/experiments/wake-marks-preload.mjs dist/main.js: timestamps (performance.now)
// of the points a c=1 request passes, for bench/experiments/redis-wake-timeline.mjs. SIGUSR2 starts
// recording, the next SIGUSR2 writes them to $MARKS_OUT as JSON [[code, ms], ...]. Codes: see MARK.
// Sockets are told apart by their remote port: REDIS_URL's, the upstream's (OPENAI_BASE_URL), or a client.
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const MARK = { request: 1, redisWrite: 2, redisData: 3, redisDataEnd: 4, consume: 5, consumed: 6, upstreamWrite: 7, upstreamData: 8, clientWrite: 9, execSend: 10, consumeReturned: 11, execSettled: 12, redisReadable: 13, sendEnter: 20, sendExit: 21, replyEnter: 22, replyExit: 23 };
const redisPort = process.env.REDIS_URL ? Number(new URL(process.env.REDIS_URL).port) : -1;
const upstreamPort = Number(new URL(process.env.OPENAI_BASE_URL ?? 'http://127.0.0.1:1').port);
const CAP = 2_000_000;
const buf = new Float64Array(2 * CAP);
let n = 0;
let on = false;
const mark = (code) => {
  if (!on || n >= CAP) return;
  buf[2 * n] = code;
  buf[2 * n + 1] = performance.now() * 1000;
  n++;
};
const role = (socket) => (socket.remotePort === redisPort ? 'redis' : socket.remotePort === upstreamPort ? 'upstream' : 'client');

const writeGeneric = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (...args) {
  const r = role(this);
  mark(r === 'redis' ? MARK.redisWrite : r === 'upstream' ? MARK.upstreamWrite : MARK.clientWrite);
  return writeGeneric.apply(this, args);
};
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, ...args) {
  if (event !== 'data' && event !== 'readable') return emit.call(this, event, ...args);
  const r = role(this);
  if (r === 'redis' && event === 'data') {
    mark(MARK.redisData);
    const out = emit.call(this, event, ...args);
    mark(MARK.redisDataEnd);
    return out;
  }
  if (r === 'upstream') mark(MARK.upstreamData);
  else if (r === 'redis') mark(MARK.redisReadable);
  return emit.call(this, event, ...args);
};
const serverEmit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'request') mark(MARK.request);
  return serverEmit.call(this, event, ...args);
};
const rlf = createRequire(import.meta.url)('rate-limiter-flexible');
const limiterClasses = [rlf.RateLimiterMemory, rlf.RateLimiterRedis];
// A build whose Redis store has its own consume(): mark that one too (the same module the entry loads).
const ownStore = process.argv[1] ? path.join(path.dirname(process.argv[1]), 'auth', 'rate-limiter-redis-multi.js') : '';
if (ownStore && fs.existsSync(ownStore)) {
  const { RateLimiterRedisMulti } = await import(pathToFileURL(ownStore).href);
  if (Object.hasOwn(RateLimiterRedisMulti.prototype, 'consume')) limiterClasses.push(RateLimiterRedisMulti);
}
for (const cls of limiterClasses) {
  const consume = cls.prototype.consume;
  cls.prototype.consume = function (...args) {
    mark(MARK.consume);
    const p = consume.apply(this, args);
    mark(MARK.consumeReturned);
    p.then(() => mark(MARK.consumed), () => mark(MARK.consumed));
    return p;
  };
}
const { Redis } = createRequire(import.meta.url)('ioredis');
const sendCommand = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (command, ...rest) {
  if (command.name === 'exec') mark(MARK.execSend);
  mark(MARK.sendEnter);
  const out = sendCommand.call(this, command, ...rest);
  mark(MARK.sendExit);
  if (command.name === 'exec') command.promise.then(() => mark(MARK.execSettled), () => undefined);
  return out;
};
const DataHandler = createRequire(import.meta.url)('ioredis/built/DataHandler').default;
const returnReply = DataHandler.prototype.returnReply;
DataHandler.prototype.returnReply = function (reply) {
  mark(MARK.replyEnter);
  const out = returnReply.call(this, reply);
  mark(MARK.replyExit);
  return out;
};
process.on('SIGUSR2', () => {
  if (!on) {
    n = 0;
    on = true;
    return;
  }
  on = false;
  const out = [];
  for (let i = 0; i < n; i++) out.push([buf[2 * i], Math.round(buf[2 * i + 1] * 10) / 10]);
  fs.writeFileSync(process.env.MARKS_OUT ?? '/tmp/marks.json', JSON.stringify(out));
});
