import { ApiError } from '../../common/errors/index.js';

/** The upstream answered badly (5xx, malformed body), could not be reached, or rejected our key: 502. */
export class UpstreamFailureError extends ApiError {
  override readonly name = 'UpstreamFailureError';
  readonly status = 502;
  readonly type = 'upstream_error' as const;
  override readonly code: string;
  /** The upstream's status, when it answered; kept for logs and metrics, never sent to clients. */
  readonly upstreamStatus: number | undefined;

  constructor(message: string, code: string, upstreamStatus?: number) {
    super(message);
    this.code = code;
    this.upstreamStatus = upstreamStatus;
  }
}
