/**
 * A backend (the token store's Redis, a failure counter's) did not answer in time, or answered
 * "not now" (a failover, out of memory, read-only). Nothing of HTTP: the HTTP layer answers it
 * with 503 `temporarily_unavailable` and keeps it as the `cause`.
 */
export class UnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

/** The name of {@link UnavailableError} before 0.2 (thrown by the stores; kept as an alias). */
export { UnavailableError as StoreUnavailableError };
