import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser.js';
import { startTestApp, TestApp } from '../support/test-app.js';

/**
 * Swagger UI at /docs in a real browser: Debian's chromium, headless, driven by playwright-core
 * (nothing downloaded). The page must render every route group of the OpenAPI document, and
 * "Try it out" on GET /health must reach the server and show its 200 answer.
 */

/** Per-step bound: Swagger UI renders in well under a second here; a stuck page fails fast. */
const STEP_MS = 20_000;

interface OpenApiDoc {
  tags?: { name: string }[];
  paths: Record<string, Record<string, { operationId?: string; tags?: string[] }>>;
}

/** The route groups the page must show: top-level `tags` plus every operation's tags. */
function tagsOf(doc: OpenApiDoc): string[] {
  const tags = new Set((doc.tags ?? []).map((tag) => tag.name));
  for (const operations of Object.values(doc.paths)) {
    for (const operation of Object.values(operations)) operation.tags?.forEach((tag) => tags.add(tag));
  }
  return [...tags].sort();
}

describe('Swagger UI in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let doc: OpenApiDoc;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    // The browser first: a missing Chromium fails the suite at once, with the install hint.
    browser = await launchChromium();
    t = await startTestApp();
    doc = (await (await fetch(`${t.url}/docs-json`)).json()) as OpenApiDoc;
    page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${t.url}/docs`, { waitUntil: 'load', timeout: STEP_MS });
    // Swagger UI is rendered client-side from /docs-json: wait for the first route group.
    await page.locator('.opblock-tag-section').first().waitFor({ state: 'visible' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders every route group of the OpenAPI document, and each of its operations', async () => {
    const tags = tagsOf(doc);
    expect(tags).toEqual(expect.arrayContaining(['health', 'chat', 'embeddings', 'classify', 'openai']));
    for (const tag of tags) {
      await expect(page.locator(`#operations-tag-${tag}`).isVisible()).resolves.toBe(true);
    }
    // Groups render expanded (docExpansion 'list'): every operation is on the page under its first tag.
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        const id = `#operations-${operation.tags?.[0] ?? 'default'}-${operation.operationId}`;
        await page.locator(id).waitFor({ state: 'visible' });
      }
    }
    expect(pageErrors).toEqual([]);
  });

  it('shows the Authorize button (bearer auth is declared)', async () => {
    const authorize = page.locator('.auth-wrapper button.authorize');
    await authorize.waitFor({ state: 'visible' });
    await expect(authorize.textContent()).resolves.toMatch(/Authorize/);
  });

  it('"Try it out" on GET /health executes the request and shows 200 with status ok', async () => {
    const entry = Object.entries(doc.paths['/health'] ?? {}).find(([method]) => method === 'get');
    expect(entry).toBeDefined();
    const [, operation] = entry!;
    const block = page.locator(`#operations-${operation.tags?.[0]}-${operation.operationId}`);

    await block.locator('.opblock-summary-control').click();
    await block.locator('button.try-out__btn', { hasText: 'Try it out' }).click();
    const answer = page.waitForResponse((response) => new URL(response.url()).pathname === '/health', { timeout: STEP_MS });
    await block.locator('button.execute', { hasText: 'Execute' }).click();
    expect((await answer).status()).toBe(200);

    const live = block.locator('.live-responses-table');
    await live.waitFor({ state: 'visible' });
    const row = live.locator('tbody tr.response');
    await expect(row.locator('.response-col_status').textContent()).resolves.toMatch(/^\s*200\s*$/);
    const body = row.locator('div', { has: page.locator('h5', { hasText: 'Response body' }) }).locator('pre');
    await expect(body.textContent()).resolves.toMatch(/"status":\s*"ok"/);
    // The request Swagger UI shows is the one it sent: this origin's /health.
    await expect(block.locator('.request-url').textContent()).resolves.toContain(`${t.url}/health`);
  });
});
