// /chat/complete vs /v1/chat/completions on ONE ballast process (npm start's flags), c=64, the
// upstream answering at once: does the gap between the two routes in the bench come from the routes
// or from the order they run in? ROUNDS rounds (default 10); in each, both routes take WARM_MS of
// unmeasured load then MEASURE_MS measured (autocannon), the first route alternating by round
// (FIRST=v1 starts with /v1); IDLE_MS (default 0) of idle before each round.
//   node bench/experiments/route-ratio.mjs            (npm run bench's builds must exist)
import { postLoad } from '../post-load.mjs';
import { median, sleep, startBallast, startFake } from '../lib.mjs';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const WARM_MS = Number(process.env.WARM_MS ?? 1000);
const MEASURE_MS = Number(process.env.MEASURE_MS ?? 3000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 0);
const messages = [{ role: 'user', content: 'Say hello' }];
const routes = [
  { name: '/chat/complete', path: '/chat/complete', body: JSON.stringify({ messages }) },
  { name: '/v1/chat/completions', path: '/v1/chat/completions', body: JSON.stringify({ model: 'fake-model', messages }) },
];
if (process.env.FIRST === 'v1') routes.reverse();

const fake = await startFake();
const ballast = await startBallast('undici', fake.origin);

function load(route, ms) {
  return new Promise((resolve, reject) => {
    postLoad(
      { url: `${ballast.origin}${route.path}`, connections: 64, duration: ms / 1000, body: route.body },
      (err, res) => (err ? reject(err) : res.non2xx ? reject(new Error(`${route.name}: ${res.non2xx} non-2xx`)) : resolve(res['2xx'] / (ms / 1000))),
    );
  });
}

for (const r of routes) await load(r, 3000); // JIT warm-up of both routes
const rps = new Map(routes.map((r) => [r.name, []]));
const ratio = [];
for (let round = 0; round < ROUNDS; round++) {
  if (IDLE_MS) await sleep(IDLE_MS);
  const order = round % 2 === 0 ? routes : [...routes].reverse();
  for (const route of order) {
    if (WARM_MS) await load(route, WARM_MS);
    rps.get(route.name).push(Math.round(await load(route, MEASURE_MS)));
  }
  const [a, b] = routes.map((r) => rps.get(r.name).at(-1));
  ratio.push(a / b);
  console.log(`round ${round + 1} (${order[0].name} first): ${routes[0].name} ${a}, ${routes[1].name} ${b} req/s, ratio ${(a / b).toFixed(3)}`);
}
const first = (i) => ratio.filter((_, k) => k % 2 === i);
console.log(`${routes[0].name} / ${routes[1].name}: median ${median(ratio).toFixed(3)} (when ${routes[0].name} ran first ${median(first(0)).toFixed(3)}, second ${median(first(1)).toFixed(3)})`);
process.exit(0);
