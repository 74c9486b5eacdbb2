import { AppConfig } from '../config/app-config.js';
import { validateEnvironment } from '../config/environment.loader.js';
import { UpstreamRouter } from './upstream.router.js';

function routerFor(upstreams: object[]): UpstreamRouter {
  return new UpstreamRouter(new AppConfig(validateEnvironment({ UPSTREAMS: JSON.stringify(upstreams), KA: 'ka', KB: 'kb', KC: 'kc' })));
}

describe(UpstreamRouter.name, () => {
  it('without weights: list order; only upstreams that serve the model', () => {
    const router = routerFor([
      { name: 'a', baseUrl: 'http://a/v1', apiKeyEnv: 'KA', models: ['m1'] },
      { name: 'b', baseUrl: 'http://b/v1', apiKeyEnv: 'KB' },
      { name: 'c', baseUrl: 'http://c/v1', apiKeyEnv: 'KC', models: ['m1', 'm2'] },
    ]);
    expect(router.candidates('m1').map((t) => t.name)).toEqual(['a', 'b', 'c']);
    expect(router.candidates('m2').map((t) => t.name)).toEqual(['b', 'c']);
    expect(router.candidates('other').map((t) => t.name)).toEqual(['b']);
  });

  it('with weights: the first pick is drawn by weight, the rest follow as fallbacks', () => {
    const router = routerFor([
      { name: 'a', baseUrl: 'http://a/v1', apiKeyEnv: 'KA', weight: 1 },
      { name: 'b', baseUrl: 'http://b/v1', apiKeyEnv: 'KB', weight: 3 },
    ]);
    expect(router.candidates(undefined, () => 0.1).map((t) => t.name)).toEqual(['a', 'b']);
    expect(router.candidates(undefined, () => 0.3).map((t) => t.name)).toEqual(['b', 'a']);
    expect(router.candidates(undefined, () => 0.99).map((t) => t.name)).toEqual(['b', 'a']);
  });

  it('reports each upstream and its breaker, never its key', () => {
    const status = routerFor([{ name: 'a', baseUrl: 'http://a/v1', apiKeyEnv: 'KA' }]).status();
    expect(status).toEqual([{ name: 'a', baseUrl: 'http://a/v1', configured: true, breaker: 'closed' }]);
    expect(JSON.stringify(status)).not.toContain('ka');
  });
});
