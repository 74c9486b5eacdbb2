// node --import ./bench/prof-preload.mjs dist/main.js : SIGWINCH starts a CPU profile, the next SIGWINCH
// writes it to $PROF_OUT (default /tmp/ballast.cpuprofile). Sampling interval $PROF_INTERVAL_US (default 50).
import { Session } from 'node:inspector';
import fs from 'node:fs';
const session = new Session();
session.connect();
let running = false;
process.on('SIGWINCH', () => {
  if (!running) {
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: Number(process.env.PROF_INTERVAL_US ?? 50) }, () =>
        session.post('Profiler.start', () => { running = true; }),
      ),
    );
  } else {
    session.post('Profiler.stop', (err, { profile }) => {
      fs.writeFileSync(process.env.PROF_OUT ?? '/tmp/ballast.cpuprofile', JSON.stringify(profile));
      running = false;
    });
  }
});
