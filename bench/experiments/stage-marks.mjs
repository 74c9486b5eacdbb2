// Experiment, cited in docs/benchmarks.md, "Chat" and "Per-request costs the code cites": time per stage of one request.
// Time per stage of one request inside ballast, to see which costs are on the response's path.
// Makes a copy of dist/ with performance.now() marks patched in
// at each stage: Node's `request` event, our onRequest hook, preValidation, preHandler, the chat
// service, the upstream call (start, transport send, headers, body read, JSON parsed, end), onSend,
// the response's `close` and the end of the work after it. After 8,000 requests the server appends
// the median of each stage (of requests 3,000–8,000, in µs) to STAGE_MARKS_OUT (default
// /tmp/stage-marks.log). `STAGE_MARKS=1 node bench/experiments/floor-nest.mjs` records the same
// stages where floor-nest has them. Run both side by side with bench/ab.mjs, for example:
//   node bench/experiments/stage-marks.mjs .variants/marked
//   echo '[{"name":"marked","entry":".variants/marked/main.js"},
//          {"name":"floor","cmd":["node","bench/experiments/floor-nest.mjs"],"env":{"STAGE_MARKS":"1"}}]' > /tmp/m.json
//   AB_ROUNDS=20 AB_PER_ROUND=500 AB_C64_SEC=0 node bench/ab.mjs /tmp/m.json && cat /tmp/stage-marks.log
// The patches match the compiled code's text and stop with an error when a pattern is not found
// (the source changed): update them then. Experiment tooling, not part of the server.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const out = path.resolve(ROOT, process.argv[2] ?? '.variants/marked');
const LIFECYCLE = 'common/http/request-lifecycle.js';
const CLIENT = 'upstream/upstream.client.js';
const STAGES = ['arrive', 'start', 'preVal', 'preHandler', 'svc', 'upStart', 'sendStart', 'headers', 'text', 'parsed', 'upEnd', 'svcEnd', 'onSend', 'onSendEnd', 'close', 'closeWork'];

const patches = [
  [LIFECYCLE, `    fastify.decorateRequest('ballast', null);`, `    fastify.decorateRequest('ballast', null);
    fastify.server.prependListener('request', (req) => { req.__t0 = performance.now(); });
    fastify.addHook('preValidation', (request, reply, done) => { request.ballast.m.push(performance.now()); done(); });
    fastify.addHook('preHandler', (request, reply, done) => { request.ballast.m.push(performance.now()); done(); });
    const rows = [];
    globalThis.__stageRecord = (m) => {
      rows.push(m);
      if (rows.length !== 8000) return;
      const names = ${JSON.stringify(STAGES)};
      const medians = names.slice(1).map((name, i) => {
        const d = rows.slice(3000).map((r) => (r[i + 1] - r[i]) * 1000).sort((a, b) => a - b);
        return name + ' ' + d[d.length >> 1].toFixed(1);
      });
      fs.appendFileSync(process.env.STAGE_MARKS_OUT ?? '/tmp/stage-marks.log', 'ballast ' + medians.join(' | ') + '\\n');
    };`],
  [LIFECYCLE, `import { RequestContext } from './request-context.js';`, `import { RequestContext } from './request-context.js';\nimport fs from 'node:fs';`],
  [LIFECYCLE, `        const ctx = new RequestContext();`, `        const ctx = new RequestContext(); ctx.m = [request.raw.__t0, ctx.startedAt];`],
  [LIFECYCLE, `            const finished = res.writableFinished;`, `            const finished = res.writableFinished; ctx.m.push(performance.now());`],
  [LIFECYCLE, `                lines.info(fields, finished ? 'request completed' : 'client closed request');`, `                lines.info(fields, finished ? 'request completed' : 'client closed request');\n            ctx.m.push(performance.now()); globalThis.__stageRecord(ctx.m);`],
  [LIFECYCLE, `        void reply.header(`, `        request.ballast.m.push(performance.now()); void reply.header(`],
  [LIFECYCLE, `        done(null, payload);\n    });\n}`, `        request.ballast.m.push(performance.now()); done(null, payload);\n    });\n}`],
  ['chat/chat.service.js', `    async complete(dto, ctx) {\n        const body = await this.upstream.postJson('/chat/completions', this.upstreamBody(dto, false), ctx);`,
    `    async complete(dto, ctx) { ctx.m.push(performance.now());\n        const body = await this.upstream.postJson('/chat/completions', this.upstreamBody(dto, false), ctx); ctx.m.push(performance.now());`],
  [CLIENT, `        const started = performance.now();\n        try {\n            return await this.failover(`, `        const started = performance.now(); ctx.m?.push(started); globalThis.__stageMarks = ctx.m;\n        try {\n            return await this.failover(`],
  [CLIENT, `            ctx.upstreamMs += performance.now() - started;\n            deadline.dispose();\n        }\n    }\n    async postStream`, `            ctx.upstreamMs += performance.now() - started; ctx.m?.push(performance.now());\n            deadline.dispose();\n        }\n    }\n    async postStream`],
  // JSON calls go through UndiciTransport.exchange (dispatch()): headers and body arrive together,
  // so `headers` and `text` are marked at the same moment (the `text` stage reads ~0).
  [CLIENT, `                const response = await this.wire.exchange(this.request(`, `                globalThis.__stageMarks?.push(performance.now()); const response = await this.wire.exchange(this.request(`],
  [CLIENT, `                return parseJson(response.text);`, `                globalThis.__stageMarks?.push(performance.now(), performance.now()); const parsed = parseJson(response.text); globalThis.__stageMarks?.push(performance.now()); return parsed;`],
];

fs.rmSync(out, { recursive: true, force: true });
fs.cpSync(path.join(ROOT, 'dist'), out, { recursive: true });
for (const [file, from, to] of patches) {
  const p = path.join(out, file);
  const text = fs.readFileSync(p, 'utf8');
  if (!text.includes(from)) throw new Error(`stage-marks: pattern not found in ${file} (the source changed?):\n${from}`);
  fs.writeFileSync(p, text.replace(from, to));
}
console.log(`marked copy of dist in ${path.relative(ROOT, out)}; entry ${path.relative(ROOT, path.join(out, 'main.js'))}`);
