// Plain Fastify 5: POST /hello echoes a tiny JSON object (body parsed). Same logger off as a baseline.
import Fastify from 'fastify';
const app = Fastify({ logger: false });
app.post('/hello', async (req) => ({ ok: true, n: Array.isArray(req.body?.messages) ? req.body.messages.length : 0 }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
