// The floor of the mandated stack: Nest 12 + FastifyAdapter, one controller that relays the chat body
// through an undici Agent (as ballast's transport does) and reshapes the answer like /chat/complete.
// No hooks, logging, metrics, validation, deadline, retries or breaker: what ballast would cost if
// it did nothing but route, relay and reshape. Compare with bench/relay.mjs (node:http) in bench/ab.mjs.
import 'reflect-metadata';
import { Controller, Post, Body, Module, HttpCode } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Agent } from 'undici';
const origin = process.env.UPSTREAM_URL;
const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30000 });
class ChatController {
  async complete(body) {
    const res = await agent.request({
      origin,
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { accept: 'application/json', authorization: 'Bearer x', 'content-type': 'application/json' },
      body: JSON.stringify({ model: body.model ?? 'fake-model', messages: body.messages }),
    });
    const answer = JSON.parse(await res.body.text());
    return { content: answer.choices[0].message.content, model: answer.model, usage: answer.usage };
  }
}
Body()(ChatController.prototype, 'complete', 0);
const desc = Object.getOwnPropertyDescriptor(ChatController.prototype, 'complete');
Post('complete')(ChatController.prototype, 'complete', desc);
HttpCode(200)(ChatController.prototype, 'complete', desc);
Reflect.defineMetadata('design:paramtypes', [Object], ChatController.prototype, 'complete');
Controller('chat')(ChatController);
class AppModule {}
Module({ controllers: [ChatController] })(AppModule);
const app = await NestFactory.create(AppModule, new FastifyAdapter({ logger: false }), { logger: false });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
