import { Counter, Histogram, Registry } from 'prom-client';
import { CounterOfCounts, SeriesHistogram } from './series-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];
const OBSERVATIONS: Array<[string, string, number, number]> = [
  ['POST', '/chat/complete', 200, 0.0004],
  ['POST', '/chat/complete', 200, 0.001], // on a bound: counts in that bucket (le is inclusive)
  ['POST', '/chat/complete', 200, 0.05],
  ['POST', '/chat/complete', 502, 2.5], // above every bound: +Inf only
  ['GET', 'unmatched', 404, 0.002],
];

describe('SeriesHistogram', () => {
  it('exports exactly what a prom-client Histogram and Counter export for the same observations', async () => {
    const reference = new Registry();
    const refHistogram = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['method', 'route', 'status'], buckets: BOUNDS, registers: [reference] });
    const refCounter = new Counter({ name: 'h_total', help: 'count', labelNames: ['method', 'route', 'status'], registers: [reference] });
    const ours = new Registry();
    const histogram = new SeriesHistogram('h_seconds', 'help', ['method', 'route', 'status'], BOUNDS, ours);
    new CounterOfCounts('h_total', 'count', histogram, ours);

    for (const [method, route, status, value] of OBSERVATIONS) {
      refHistogram.observe({ method, route, status }, value);
      refCounter.inc({ method, route, status });
      histogram.series(method, route, status).observe(value);
    }

    expect(await ours.metrics()).toBe(await reference.metrics());
    // The JSON form too, up to label values' types (ours are strings) and prom-client's empty exemplars.
    const normalise = (metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      metrics.map(({ name, type, values }) => ({
        name,
        type,
        values: values.map((v) => ({ labels: Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)])), value: v.value })),
      }));
    expect(normalise(await ours.getMetricsAsJSON())).toEqual(normalise(await reference.getMetricsAsJSON()));
  });

  it('resolves the same label values to the same series, and different ones apart', () => {
    const histogram = new SeriesHistogram('x_seconds', 'help', ['upstream', 'outcome'], BOUNDS, new Registry());
    expect(histogram.series('a', 'ok')).toBe(histogram.series('a', 'ok'));
    expect(histogram.series('a', 'ok')).not.toBe(histogram.series('a', 'upstream_timeout'));
    expect(histogram.series('a b', 'c')).not.toBe(histogram.series('a', 'b c'));
    expect(histogram.series('b', 'ok')).not.toBe(histogram.series('a', 'ok'));
  });

  it('refuses the wrong number of label values and buckets that do not increase', () => {
    const histogram = new SeriesHistogram('y_seconds', 'help', ['route', 'status'], BOUNDS, new Registry());
    expect(() => histogram.series('a')).toThrow('expected 2 label values, got 1');
    expect(() => new SeriesHistogram('w_seconds', 'help', [], BOUNDS, new Registry())).toThrow('one to three labels');
    expect(() => new SeriesHistogram('z_seconds', 'help', ['x'], [1, 1], new Registry())).toThrow('buckets must increase');
  });

  it('starts again from nothing after reset', async () => {
    const registry = new Registry();
    const histogram = new SeriesHistogram('r_seconds', 'help', ['route'], BOUNDS, registry);
    histogram.series('/a').observe(0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('route="/a"');
  });
});
