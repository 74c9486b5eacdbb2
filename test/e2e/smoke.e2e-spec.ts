import request from 'supertest';
import { FakeUpstream } from '../support/fake-upstream.js';
import { startTestApp, TestApp } from '../support/test-app.js';

describe('smoke', () => {
  let fake: FakeUpstream; let t: TestApp;
  beforeAll(async () => { fake = await FakeUpstream.start(); t = await startTestApp({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY: 'sk-test' }); });
  afterAll(async () => { await t.close(); await fake.close(); });
  it('works', async () => {
    const r = await request(t.app.getHttpServer()).post('/chat/complete').send({ messages: [{ role: 'user', content: 'hi' }] });
    console.log(r.status, r.headers, r.text);
    const s = await request(t.app.getHttpServer()).post('/chat/stream').send({ messages: [{ role: 'user', content: 'hi there you' }] });
    console.log(s.status, s.headers, s.text);
    for (const b of [{}, { messages: [] }, { messages: [{ role: 'x', content: 1 }] }, 'garbage']) {
      const e = await request(t.app.getHttpServer()).post('/chat/complete').set('content-type', 'application/json').send(typeof b === 'string' ? b : JSON.stringify(b));
      console.log(e.status, e.text);
    }
    const big = await request(t.app.getHttpServer()).post('/chat/complete').set('content-type', 'application/json').send(JSON.stringify({ messages: [{ role: 'user', content: 'x'.repeat(2_000_000) }] }));
    console.log(big.status, big.text);
    const nf = await request(t.app.getHttpServer()).get('/nope');
    console.log(nf.status, nf.text);
    const d = await request(t.app.getHttpServer()).get('/docs-json');
    console.log(d.status, Object.keys(d.body.paths ?? {}));
    const d2 = await request(t.app.getHttpServer()).get('/docs');
    console.log(d2.status, d2.text.slice(0, 100));
  });
});
