import { chromium, type Browser } from 'playwright-core';
import { findExecutable, isExecutable } from './executables.js';

/**
 * Debian's chromium (`apt-get install -y chromium`: /usr/bin/chromium, or `chromium` elsewhere on
 * PATH); CHROMIUM_PATH points at another Chromium or Chrome. Playwright downloads nothing.
 */
export const CHROMIUM_PATH = findExecutable('chromium', process.env.CHROMIUM_PATH);

/**
 * Flags for a headless run on a machine without a display or a network beyond the loopback: no
 * sandbox (CI runs as root), and none of Chromium's own background connections (component updates,
 * sync, field trials...), which a closed network refuses and which would only slow the page down.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches the system Chromium headless. Throws (so the suite fails, never skips) when the binary is
 * missing: .ci/run installs it, and so must a developer who runs the browser suite.
 */
export async function launchChromium(): Promise<Browser> {
  if (!isExecutable(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: the browser e2e suite needs Debian's chromium. ` +
        'Install it with `apt-get install -y chromium` (.ci/run does this when it is missing), ' +
        'or set CHROMIUM_PATH to a Chromium/Chrome binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 20_000 });
}
