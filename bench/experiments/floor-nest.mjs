// Experiment, cited in docs/benchmarks.md, "Chat": the floor of Nest + Fastify + undici doing nothing but relay.
// The floor of the mandated stack: Nest 12 + FastifyAdapter, one controller that relays the chat body
// through an undici Agent (as ballast's transport does) and reshapes the answer like /chat/complete.
// No hooks, logging, metrics, validation, deadline, retries or breaker: what ballast would cost if
// it did nothing but route, relay and reshape. Compare with bench/relay.mjs (node:http) in bench/ab.mjs.
// STAGE_MARKS=1 records the time per stage of each request, as bench/experiments/stage-marks.mjs does for ballast.
import 'reflect-metadata';
import fs from 'node:fs';
import { Controller, Post, Body, Req, Module, HttpCode } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Agent } from 'undici';
const origin = process.env.UPSTREAM_URL;
const MARKS = process.env.STAGE_MARKS === '1';
const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30000 });
class ChatController {
  async complete(body, req) {
    const m = req?.raw.__m;
    m?.push(performance.now());
    const res = await agent.request({
      origin,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { accept: 'application/json', authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ model: body.model ?? 'fake-model', messages: body.messages }),
    });
    m?.push(performance.now());
    const text = await res.body.text();
    m?.push(performance.now());
    const answer = JSON.parse(text);
    m?.push(performance.now());
    return { content: answer.choices[0].message.content, model: answer.model, usage: answer.usage };
  }
}
Body()(ChatController.prototype, 'complete', 0);
if (MARKS) Req()(ChatController.prototype, 'complete', 1);
const desc = Object.getOwnPropertyDescriptor(ChatController.prototype, 'complete');
Post('complete')(ChatController.prototype, 'complete', desc);
HttpCode(200)(ChatController.prototype, 'complete', desc);
Reflect.defineMetadata('design:paramtypes', MARKS ? [Object, Object] : [Object], ChatController.prototype, 'complete');
Controller('chat')(ChatController);
class AppModule {}
Module({ controllers: [ChatController] })(AppModule);
const app = await NestFactory.create(AppModule, new FastifyAdapter({ logger: false }), { logger: false });
if (MARKS) {
  const f = app.getHttpAdapter().getInstance();
  const names = ['arrive', 'start', 'preVal', 'preHandler', 'svc', 'headers', 'text', 'parsed', 'onSend', 'onSendEnd', 'close'];
  const rows = [];
  f.server.prependListener('request', (req) => { req.__t0 = performance.now(); });
  f.addHook('onRequest', (request, reply, done) => {
    const m = [request.raw.__t0, performance.now()];
    request.raw.__m = m;
    reply.raw.once('close', () => {
      m.push(performance.now());
      rows.push(m);
      if (rows.length !== 8000) return;
      const medians = names.slice(1).map((name, i) => {
        const d = rows.slice(3000).map((r) => (r[i + 1] - r[i]) * 1000).sort((a, b) => a - b);
        return name + ' ' + d[d.length >> 1].toFixed(1);
      });
      fs.appendFileSync(process.env.STAGE_MARKS_OUT ?? '/tmp/stage-marks.log', 'floor-nest ' + medians.join(' | ') + '\n');
    });
    done();
  });
  f.addHook('preValidation', (request, reply, done) => { request.raw.__m.push(performance.now()); done(); });
  f.addHook('preHandler', (request, reply, done) => { request.raw.__m.push(performance.now()); done(); });
  f.addHook('onSend', (request, reply, payload, done) => { request.raw.__m.push(performance.now(), performance.now()); done(null, payload); });
}
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
