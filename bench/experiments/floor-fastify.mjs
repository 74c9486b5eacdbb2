// Plain Fastify 5 doing what bench/experiments/floor-nest.mjs does (relay via undici, reshape), to
// split the stack's floor between Fastify and Nest. Compare in bench/ab.mjs.
import Fastify from 'fastify';
import { Agent } from 'undici';
const origin = process.env.UPSTREAM_URL;
const agent = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30000 });
const app = Fastify({ logger: false });
app.post('/chat/complete', async (req) => {
  const res = await agent.request({
    origin,
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { accept: 'application/json', authorization: 'Bearer x', 'content-type': 'application/json' },
    body: JSON.stringify({ model: req.body.model ?? 'fake-model', messages: req.body.messages }),
  });
  const answer = JSON.parse(await res.body.text());
  return { content: answer.choices[0].message.content, model: answer.model, usage: answer.usage };
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
