/**
 * What the main thread and the classifier workers say to each other. Types only: both sides import
 * it, and the worker must not pull Nest into its thread.
 */

/** One way to get a model: a folder `<localModelPath>/<name>`, or (allowRemote) the hub id `name`. */
export interface ModelCandidate {
  name: string;
  localModelPath: string;
  allowRemote: boolean;
  cacheDir: string;
  /** True for LOCAL_MODEL_FALLBACK. */
  fallback: boolean;
}

export interface ClassifierWorkerData {
  /** Niceness the worker gives its own thread before loading (CLASSIFIER_NICE). */
  nice: number;
  /** Tried in order; the first that loads serves. */
  candidates: ModelCandidate[];
  /**
   * One Int32 on a SharedArrayBuffer: 0 = nobody loaded yet, 1 = a worker is loading, 2 = loaded.
   * When downloads are allowed, one worker loads (and downloads) first, the others wait and then
   * read the files from the cache, so workers never write the same cache files at once.
   */
  loadLock: Int32Array;
}

export type ClassifierTask = { op: 'status' } | { op: 'classify'; texts: string[] } | { op: 'crash' };

export interface Classification {
  label: string;
  score: number;
}

export interface ModelFailure {
  model: string;
  reason: string;
}

/** Answer to `status`: which model serves, and why the ones before it did not. */
export interface LoadedModel {
  model: string;
  fallback: boolean;
  failures: ModelFailure[];
}

/** Message prefix of the error a worker throws when no candidate could be loaded. */
export const NO_MODEL_PREFIX = 'No model could be loaded: ';
