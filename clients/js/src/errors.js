// The two errors a Tessera call can end in: the server answered no (TesseraApiError, with the problem's code and
// sentence), or the server could not be reached (TesseraUnavailableError). Only the first can mean a session ended.

/** The 401 codes of the session check: the token (or cookie) no longer signs anyone in. */
export const SESSION_ENDED_CODES = Object.freeze([
  'unauthenticated',
  'session_revoked',
  'session_expired',
  'account_deactivated',
  'account_banned',
  'account_deleted',
]);

/** The revocation reason of a session-ending problem that carries none (as the event stream would name it). */
const REASON_BY_CODE = {
  session_expired: 'session_expired',
  account_deactivated: 'user_deactivated',
  account_banned: 'user_banned',
  account_deleted: 'user_deleted',
  unauthenticated: 'token_revoked',
  session_revoked: 'token_revoked',
};

/** The server answered with an RFC 9457 problem (or an error status without one). */
export class TesseraApiError extends Error {
  /**
   * @param {number} status
   * @param {Record<string, unknown> | null} problem the parsed problem body, when there was one
   */
  constructor(status, problem) {
    const body = problem && typeof problem === 'object' ? problem : {};
    const sentence = typeof body.detail === 'string' && body.detail
      ? body.detail
      : typeof body.title === 'string' && body.title ? body.title : `The server answered ${status}.`;
    super(sentence);
    this.name = 'TesseraApiError';
    this.status = status;
    this.code = typeof body.code === 'string' ? body.code : codeOfStatus(status);
    this.reason = typeof body.reason === 'string' ? body.reason : null;
    this.bannedUntil = typeof body.bannedUntil === 'string' ? body.bannedUntil : null;
    this.retryAfter = typeof body.retryAfter === 'number' ? body.retryAfter : null;
    this.errors = body.errors && typeof body.errors === 'object' ? body.errors : null;
    this.problem = problem ?? null;
  }

  /** True when this is the session check's 401: the session is over and the stored token is useless. */
  get sessionEnded() {
    return this.status === 401 && SESSION_ENDED_CODES.includes(this.code);
  }

  /** The revocation reason: the problem's own, else the one its code stands for (as the event stream says it). */
  get endReason() {
    return this.reason ?? REASON_BY_CODE[this.code] ?? null;
  }
}

/** The server could not be reached (network down, DNS, refused, reset, timed out): nothing was decided. */
export class TesseraUnavailableError extends Error {
  /** @param {string} message @param {unknown} [cause] */
  constructor(message, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TesseraUnavailableError';
  }
}

function codeOfStatus(status) {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'internal_error';
  return 'validation_failed';
}
