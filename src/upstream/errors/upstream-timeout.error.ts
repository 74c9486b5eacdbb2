import { ApiError } from '../../common/errors/index.js';

export class UpstreamTimeoutError extends ApiError {
  override readonly name = 'UpstreamTimeoutError';
  readonly status = 504;
  readonly type = 'timeout_error' as const;
  override readonly code = 'upstream_timeout';

  constructor(timeoutMs: number, what: 'response' | 'stream idle' = 'response') {
    super(what === 'response' ? `Upstream did not answer within ${timeoutMs} ms` : `Upstream stream was idle for more than ${timeoutMs} ms`);
  }
}
