import type { Metric, Registry } from 'prom-client';

type LabelValue = string | number;

/** One label combination of a SeriesHistogram: its bucket counts, sum and count. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

interface ExportedValue {
  value: number;
  labels: Record<string, LabelValue>;
  metricName: string;
  sharedLabels?: Record<string, string>;
}

/**
 * A Prometheus histogram for the per-request hot path, exported through prom-client's Registry
 * (same text format, same /metrics) but recorded without prom-client's per-call work. prom-client's
 * `observe(labels, value)` validates the label names, builds a hash string of the labels and
 * looks it up, and keys buckets by their bound as a string, on every call: measured at ~8 µs per
 * call on the response path at concurrency 1 (docs/benchmarks.md). Here a label combination is
 * resolved to a HistogramSeries through one Map per label (see `series`), and observing is a
 * bucket search and three additions.
 */
export class SeriesHistogram<L extends string = string> {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  /** Every series, in the order made (the export order). */
  private all: HistogramSeries[] = [];
  /** label value → … → series, one level per label. */
  private index = new Map<LabelValue, unknown>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) throw new Error(`${name}: buckets must increase`);
    if (labelNames.length < 1 || labelNames.length > 3) throw new Error(`${name}: one to three labels`);
    // The Registry formats any object with prom-client's metric shape (name, help, type, get()).
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series for these label values, in `labelNames` order (at most three); made on first use.
   * Looked up through one Map per label keyed by the values themselves, not a joined string: the
   * callers pass the same string instances every time (route patterns, method names, upstream
   * names), whose hashes V8 keeps, so a lookup builds nothing. Give a label the same type every
   * time (status as a number, say): 200 and "200" would be two series.
   */
  series(a: LabelValue, b?: LabelValue, c?: LabelValue): HistogramSeries {
    let level: Map<LabelValue, unknown> = this.index;
    const depth = this.labelNames.length;
    for (let i = 0; i < depth - 1; i++) {
      const value = i === 0 ? a : i === 1 ? b : c;
      let next = level.get(value as LabelValue) as Map<LabelValue, unknown> | undefined;
      if (next === undefined) level.set(value as LabelValue, (next = new Map()));
      level = next;
    }
    const last = depth === 1 ? a : depth === 2 ? b : c;
    let series = level.get(last as LabelValue) as HistogramSeries | undefined;
    if (series === undefined) {
      series = this.create([a, b, c].slice(0, depth));
      level.set(last as LabelValue, series);
    }
    return series;
  }

  private create(values: Array<LabelValue | undefined>): HistogramSeries {
    const labels: Record<string, string> = {};
    values.forEach((value, i) => {
      if (value === undefined) throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${i}`);
      labels[this.labelNames[i]!] = String(value);
    });
    const series = new HistogramSeries(labels, this.bounds);
    this.all.push(series);
    return series;
  }

  /** Every series so far (for views such as `counterOfCounts`). */
  get allSeries(): readonly HistogramSeries[] {
    return this.all;
  }

  /** prom-client's Registry reads this for the text format: bucket lines carry `le`, the series labels are shared. */
  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    const values: ExportedValue[] = [];
    for (const series of this.all) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i];
        values.push({ labels: { le: bound }, value: cumulative, metricName: `${this.name}_bucket`, sharedLabels: series.labels });
      });
      values.push({ labels: { le: '+Inf' }, value: series.count, metricName: `${this.name}_bucket`, sharedLabels: series.labels });
      values.push({ labels: {}, value: series.sum, metricName: `${this.name}_sum`, sharedLabels: series.labels });
      values.push({ labels: {}, value: series.count, metricName: `${this.name}_count`, sharedLabels: series.labels });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The JSON form (`Registry.getMetricsAsJSON`): each value's labels in full. */
  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, value, metricName }) => ({ labels: { ...sharedLabels, ...labels }, value, metricName }));
    return data;
  }

  reset(): void {
    this.all = [];
    this.index = new Map();
  }
}

/**
 * A counter whose values are a SeriesHistogram's counts: every observation is one event, so
 * `requests_total{...}` needs no call of its own on the hot path.
 */
export class CounterOfCounts {
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly source: SeriesHistogram,
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  async get(): Promise<{ name: string; help: string; type: 'counter'; aggregator: 'sum'; values: Array<{ value: number; labels: Record<string, string> }> }> {
    const values = this.source.allSeries.map((series) => ({ value: series.count, labels: series.labels }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    // Counts live in the source histogram; resetting it resets this.
  }
}
