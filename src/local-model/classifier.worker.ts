/**
 * A Piscina worker: loads the sentiment model once (one onnxruntime thread) and classifies batches
 * of texts. Runs in its own thread, so inference never blocks the server's event loop.
 */
import { env, pipeline, type TextClassificationPipeline } from '@huggingface/transformers';
import { workerData } from 'node:worker_threads';
import { lowerPriority } from '../common/scheduling/lower-priority.js';
import type { Classification, ClassifierTask, ClassifierWorkerData, LoadedModel, ModelCandidate, ModelFailure } from './classifier.protocol.js';
import { NO_MODEL_PREFIX } from './classifier.protocol.js';

interface Ready {
  classify: TextClassificationPipeline;
  info: LoadedModel;
}

const data = workerData as ClassifierWorkerData;
lowerPriority(data.nice);
const loading: Promise<Ready> = load(data);
// Whoever asks first gets the failure; until then it must not count as unhandled.
loading.catch(() => undefined);

async function load({ candidates, loadLock }: ClassifierWorkerData): Promise<Ready> {
  if (candidates.some((c) => c.allowRemote)) await takeTurn(loadLock);
  const failures: ModelFailure[] = [];
  try {
    for (const candidate of candidates) {
      try {
        const classify = await open(candidate);
        return { classify, info: { model: candidate.name, fallback: candidate.fallback, failures } };
      } catch (error) {
        failures.push({ model: candidate.name, reason: reasonOf(error) });
      }
    }
  } finally {
    Atomics.store(loadLock, 0, 2);
    Atomics.notify(loadLock, 0);
  }
  throw new Error(NO_MODEL_PREFIX + failures.map((f) => `${f.model}: ${f.reason}`).join('; '));
}

/** The first worker loads at once; the others wait for it (see ClassifierWorkerData.loadLock). */
async function takeTurn(lock: Int32Array): Promise<void> {
  if (Atomics.compareExchange(lock, 0, 0, 1) === 0) return;
  while (Atomics.load(lock, 0) === 1) {
    const wait = Atomics.waitAsync(lock, 0, 1, 60_000);
    if (wait.async) await wait.value;
  }
}

function open(candidate: ModelCandidate): Promise<TextClassificationPipeline> {
  env.allowLocalModels = true;
  env.allowRemoteModels = candidate.allowRemote;
  env.localModelPath = candidate.localModelPath.endsWith('/') ? candidate.localModelPath : `${candidate.localModelPath}/`;
  env.cacheDir = candidate.cacheDir;
  return pipeline('text-classification', candidate.name, {
    dtype: 'fp32',
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  }) as Promise<TextClassificationPipeline>;
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
  const detail = cause ? ` (${cause.code ?? cause.message ?? ''})` : '';
  return `${error.message}${detail}`.slice(0, 500);
}

export default async function run(task: ClassifierTask): Promise<LoadedModel | Classification[]> {
  switch (task.op) {
    case 'status':
      return (await loading).info;
    case 'classify': {
      const { classify } = await loading;
      const output = await classify(task.texts, { top_k: 1 });
      return (output as unknown[]).map((item) => {
        const top = (Array.isArray(item) ? item[0] : item) as Classification;
        return { label: top.label, score: top.score };
      });
    }
    case 'crash':
      // Diagnostics (tests): the thread dies mid-task, as it would on a native crash.
      process.exit(1);
  }
}
