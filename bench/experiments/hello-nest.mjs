// Nest 12 + FastifyAdapter: the same POST /hello as hello-fastify.mjs, through Nest's router (@Body()).
import 'reflect-metadata';
import { Controller, Post, Body, Module, HttpCode } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
class HelloController {
  hello(body) { return { ok: true, n: Array.isArray(body?.messages) ? body.messages.length : 0 }; }
}
Body()(HelloController.prototype, 'hello', 0);
const desc = Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello');
Post('hello')(HelloController.prototype, 'hello', desc);
HttpCode(200)(HelloController.prototype, 'hello', desc);
Reflect.defineMetadata('design:paramtypes', [Object], HelloController.prototype, 'hello');
Controller()(HelloController);
class AppModule {}
Module({ controllers: [HelloController] })(AppModule);
const app = await NestFactory.create(AppModule, new FastifyAdapter({ logger: false }), { logger: false });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
