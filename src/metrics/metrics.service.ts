import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CounterOfCounts, SeriesHistogram } from './series-histogram.js';

/** Latency buckets in seconds: sub-millisecond (ballast's own time) up to a minute (long streams). */
const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048];

/**
 * Every Prometheus metric ballast exports, in one registry (prom-client). Label values are bounded:
 * route patterns (never raw URLs), status codes, upstream names from config, fixed outcome codes.
 * Services record into these; values only other services know (queue depth, worker restarts) are
 * read at scrape time through `gauge()` collectors.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  // The four per-request series are SeriesHistograms (recorded without prom-client's per-call
  // label work, see series-histogram.ts); everything else is plain prom-client.
  readonly httpDuration = new SeriesHistogram(
    'ballast_http_request_duration_seconds',
    'Time from request to the end of the response (streams: their whole life), by method, route and status',
    ['method', 'route', 'status'],
    SECONDS,
    this.registry,
  );
  readonly httpRequests = new CounterOfCounts(
    'ballast_http_requests_total',
    'HTTP requests answered, by method, route pattern and status (499: the client left first)',
    this.httpDuration,
    this.registry,
  );
  readonly ownTime = new SeriesHistogram(
    'ballast_overhead_seconds',
    "ballast's own time per request: total minus time waiting on upstreams (what Server-Timing reports)",
    ['route'],
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    this.registry,
  );
  readonly upstreamDuration = new SeriesHistogram(
    'ballast_upstream_request_duration_seconds',
    'Upstream attempts (to the answer, or to the headers of a stream), by upstream and outcome',
    ['upstream', 'outcome'],
    SECONDS,
    this.registry,
  );
  readonly upstreamConnectionWait = new SeriesHistogram(
    'ballast_upstream_connection_wait_seconds',
    'Time upstream requests waited for a connection (busy pool, or a new connection being opened), by upstream and pool (json, stream)',
    ['upstream', 'pool'],
    SECONDS,
    this.registry,
  );
  readonly upstreamPoolExhausted = new Counter({
    name: 'ballast_upstream_pool_exhausted_total',
    help: 'Requests refused with 503 upstream_pool_exhausted: every connection stayed busy for UPSTREAM_POOL_WAIT_MS (or the deadline), by upstream and pool',
    labelNames: ['upstream', 'pool'] as const,
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'ballast_upstream_errors_total',
    help: 'Failed upstream attempts, by upstream and outcome (upstream_http_error, upstream_timeout, ...)',
    labelNames: ['upstream', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly upstreamRetries = new Counter({
    name: 'ballast_upstream_retries_total',
    help: 'Upstream attempts after the first of a request (retries and fallbacks), by result: taken, or refused because the retry budget was spent',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly streamsOpen = new Gauge({
    name: 'ballast_sse_streams_open',
    help: 'Server-Sent Event streams currently open to clients',
    registers: [this.registry],
  });
  readonly streamEvents = new Counter({
    name: 'ballast_sse_events_total',
    help: 'Events (tokens or chunks) streamed to clients',
    registers: [this.registry],
  });
  readonly embeddingsCache = new Counter({
    name: 'ballast_embeddings_cache_total',
    help: 'Distinct texts looked up in the embeddings cache, by result (hit, miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly embeddingsUpstreamCalls = new Counter({
    name: 'ballast_embeddings_upstream_calls_total',
    help: 'Upstream embeddings requests (batches) sent',
    registers: [this.registry],
  });
  readonly embeddingsBatchSize = new Histogram({
    name: 'ballast_embeddings_batch_size',
    help: 'Texts per upstream embeddings request',
    buckets: BATCH_SIZES,
    registers: [this.registry],
  });
  readonly classifierBatchSize = new Histogram({
    name: 'ballast_classifier_batch_size',
    help: 'Texts per batch handed to a classifier worker',
    buckets: BATCH_SIZES,
    registers: [this.registry],
  });
  readonly redisRoundTrips = new SeriesHistogram(
    'ballast_redis_command_duration_seconds',
    'Redis round trips (command sent to reply), by command and outcome (ok, error, timeout)',
    ['command', 'outcome'],
    // Fine below a millisecond: a loopback round trip is ~30-150 µs, and the rate limit pays one per request.
    [0.00005, 0.000075, 0.0001, 0.00015, 0.0002, 0.0003, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1],
    this.registry,
  );
  readonly vectorStoreDuration = new SeriesHistogram(
    'ballast_vector_store_operation_seconds',
    'Vector store operations (each one statement or one transaction), by operation and outcome (ok, error: refused by the store, unavailable: unreachable, down or over RETRIEVAL_STATEMENT_TIMEOUT_MS)',
    ['operation', 'outcome'],
    SECONDS,
    this.registry,
  );
  readonly retrievalFallbacks = new Counter({
    name: 'ballast_retrieval_fallbacks_total',
    help: "Hybrid searches answered from the text list alone because the query's embedding failed, by the failure's code (upstream_timeout, circuit_open, not_configured, ...)",
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly redisConnectionErrors = new Counter({
    name: 'ballast_redis_connection_errors_total',
    help: 'Failed connections to Redis (each reconnect attempt that fails counts)',
    registers: [this.registry],
  });
  readonly sharedCacheLookups = new Counter({
    name: 'ballast_shared_cache_lookups_total',
    help: 'Keys looked up in the shared (Redis) cache tier, by result (hit, miss, error: Redis down or slow, counted as a miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly shed = new Counter({
    name: 'ballast_shed_requests_total',
    help: 'Requests refused at once with 503, by reason (in_flight, event_loop, draining, classifier_queue)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Event-loop lag, heap, GC, CPU, RSS, handles: prom-client's Node defaults.
    collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge whose value is read from `read` at scrape time. */
  gauge(name: string, help: string, read: () => number | Array<{ labels: Record<string, string>; value: number }>, labelNames: string[] = []): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        const value = read();
        if (typeof value === 'number') this.set(value);
        else for (const v of value) this.set(v.labels, v.value);
      },
    });
  }

  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
