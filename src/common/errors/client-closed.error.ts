/** The client went away before we answered; logged as 499, never answered, never an upstream error. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('Client closed the request');
  }
}
