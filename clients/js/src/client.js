// TesseraClient: the account and session calls of Tessera's HTTP API (docs/api.md) for browsers, Electron and Node.
import { TesseraApiError, TesseraUnavailableError } from './errors.js';
import { MemoryTokenStore } from './storage.js';

const DEFAULT_TIMEOUT_MS = 15000;

export class TesseraClient {
  #store;
  #fetch;
  #observers = new Set();

  /**
   * @param {object} [options]
   * @param {string} [options.baseUrl] Tessera's address; in a browser, the page's origin by default
   * @param {'token' | 'cookie'} [options.mode] 'token' (default): a Bearer token kept in tokenStore; 'cookie': the
   *   browser keeps Tessera's HttpOnly session cookie and every call is made with credentials: 'include' (a page served
   *   from Tessera's own origin, like its web console)
   * @param {{ get(): any, set(token: string): any, clear(): any }} [options.tokenStore] MemoryTokenStore by default
   * @param {{ name?: string, platform?: string, os?: string }} [options.device] what signIn says about this device
   * @param {typeof fetch} [options.fetch]
   * @param {number} [options.timeoutMs] per request (15 s by default); past it the call fails as unavailable
   */
  constructor(options = {}) {
    const base = options.baseUrl ?? globalThis.location?.origin;
    if (!base) throw new TypeError('TesseraClient needs a baseUrl (for example "https://tessera.example.com").');
    this.baseUrl = String(base).replace(/\/+$/, '');
    this.mode = options.mode ?? 'token';
    if (this.mode !== 'token' && this.mode !== 'cookie') throw new TypeError("mode is 'token' or 'cookie'.");
    this.#store = options.tokenStore ?? new MemoryTokenStore();
    this.#fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!this.#fetch) throw new TypeError('No fetch here: pass options.fetch.');
    this.device = options.device ?? {};
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The token store (token mode). */
  get tokenStore() { return this.#store; }

  /** The stored token, or null (always null in cookie mode: the browser keeps the cookie out of reach of script). */
  async getToken() {
    if (this.mode === 'cookie') return null;
    return (await this.#store.get()) ?? null;
  }

  /**
   * Signs in and keeps the token (token mode) or lets the browser keep the cookie (cookie mode).
   * @returns {Promise<{ session: object, user: object }>}
   */
  async signIn(email, password, device) {
    const body = { email, password, device: describeDevice(this.device, device) };
    if (this.mode === 'cookie') body.useCookie = true;
    const answer = await this.#request('POST', '/v1/auth/login', { body, auth: false });
    if (this.mode === 'token') {
      if (typeof answer.token !== 'string') throw new TesseraApiError(500, { code: 'internal_error', detail: 'The login answer held no token.' });
      await this.#store.set(answer.token);
    }
    this.#notify({ type: 'signedin' });
    return { session: answer.session, user: answer.user };
  }

  /** Ends this session on the server and forgets the token. Signing out of a session that already ended is no error. */
  async signOut() {
    await this.#signingOut(async () => {
      try {
        await this.#request('POST', '/v1/auth/logout');
      } catch (error) {
        if (!(error instanceof TesseraApiError && error.sessionEnded)) throw error;
      }
    });
  }

  /** The current session and user (GET /v1/auth/session). */
  async whoami() {
    const answer = await this.#request('GET', '/v1/auth/session');
    return { session: toSessionInfo(answer.session), user: answer.user };
  }

  /** This user's live sessions, most recently active first; isCurrent marks this one. */
  async listSessions() {
    const answer = await this.#request('GET', '/v1/sessions');
    return answer.sessions.map(toSessionInfo);
  }

  /** Ends one of this user's other sessions (400 cannot_revoke_current for this one: use signOut). */
  async endSession(id) {
    await this.#request('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
  }

  /** Ends every session of this user but this one; returns how many ended. */
  async endOtherSessions() {
    const answer = await this.#request('POST', '/v1/sessions/revoke-others');
    return answer.revoked;
  }

  /** "Sign out all devices": ends every session, this one included, and forgets the token. Returns how many ended. */
  async endAllSessions() {
    let revoked = 0;
    await this.#signingOut(async () => {
      revoked = (await this.#request('POST', '/v1/sessions/revoke-all')).revoked;
    });
    return revoked;
  }

  /** Changes the password; every other session ends (password_changed), this one stays. */
  async changePassword(currentPassword, newPassword) {
    await this.#request('POST', '/v1/auth/password/change', { body: { currentPassword, newPassword } });
  }

  /** Asks for a reset message; answered the same whether or not the email has an account. */
  async requestPasswordReset(email) {
    await this.#request('POST', '/v1/auth/password/reset-request', { body: { email }, auth: false });
  }

  /** Sets a new password with the token of a reset message; every session of the user ends. */
  async resetPassword(token, newPassword) {
    await this.#request('POST', '/v1/auth/password/reset', { body: { token, newPassword }, auth: false });
  }

  /** Creates an account (it does not sign in). */
  async register(email, password, displayName) {
    const body = { email, password };
    if (displayName !== undefined) body.displayName = displayName;
    const answer = await this.#request('POST', '/v1/auth/register', { body, auth: false });
    return answer.user;
  }

  // ---- for SessionWatcher ------------------------------------------------------------------------------------------

  /** The address of the event stream. */
  get eventsUrl() { return `${this.baseUrl}/v1/events`; }

  /** The headers and credentials mode a request of this session needs (Bearer in token mode, the cookie otherwise). */
  async authorization() {
    const headers = { Accept: 'application/json' };
    const token = await this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    return { headers, credentials: this.mode === 'cookie' ? 'include' : 'omit', hasToken: Boolean(token) };
  }

  /** The fetch this client uses. */
  get fetch() { return this.#fetch; }

  /**
   * Hears the client's own news: { type: 'signedin' | 'signedout' } and { type: 'ended', reason, message, code } when a
   * call learned that the session ended (the token is already forgotten). Returns a function that stops it.
   */
  observe(observer) {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /**
   * Called with a session-ending answer (a 401 of the session check, or the stream's session.revoked): forgets the token
   * and tells the observers. Exported for SessionWatcher.
   */
  async sessionEnded(ending) {
    await this.#forget();
    this.#notify({ type: 'ended', ...ending });
  }

  // ---- the one way to call Tessera -----------------------------------------------------------------------------------

  async #request(method, path, { body, auth = true } = {}) {
    const { headers, credentials } = auth ? await this.authorization() : { headers: { Accept: 'application/json' }, credentials: this.mode === 'cookie' ? 'include' : 'omit' };
    const init = { method, headers, credentials, signal: timeoutSignal(this.timeoutMs) };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      headers['Content-Type'] = 'application/json';
    }
    let response;
    let text;
    try {
      response = await this.#fetch(`${this.baseUrl}${path}`, init);
      text = await response.text();
    } catch (error) {
      throw new TesseraUnavailableError(`Tessera could not be reached (${describeFailure(error)}).`, error);
    }
    const parsed = parseJson(text);
    if (response.ok) return parsed ?? {};
    const error = new TesseraApiError(response.status, parsed);
    if (auth && error.sessionEnded) {
      await this.sessionEnded({ reason: error.endReason, message: error.message, code: error.code });
    }
    throw error;
  }

  /**
   * The app ends its own session: the watcher hears "signingout" first, so that the stream's session.revoked, which can
   * arrive before this call's answer, is not announced as news; then "signedout", or "signoutfailed" if it did not happen.
   */
  async #signingOut(call) {
    this.#notify({ type: 'signingout' });
    try {
      await call();
    } catch (error) {
      this.#notify({ type: 'signoutfailed' });
      throw error;
    }
    await this.#forget();
    this.#notify({ type: 'signedout' });
  }

  async #forget() {
    if (this.mode === 'token') await this.#store.clear();
  }

  #notify(news) {
    for (const observer of [...this.#observers]) {
      try {
        observer(news);
      } catch (error) {
        queueMicrotask(() => { throw error; });
      }
    }
  }
}

/** A Session of the API with the fields an "Active sessions" list shows at hand. */
export function toSessionInfo(session) {
  if (!session) return session;
  const device = session.device ?? {};
  return {
    ...session,
    deviceName: device.name ?? null,
    platform: device.platform ?? null,
    os: device.os ?? null,
    browser: device.browser ?? null,
    ipAddress: session.ipAddress ?? null,
    lastActive: session.lastActiveAt ? new Date(session.lastActiveAt) : null,
    isCurrent: session.current === true,
  };
}

/**
 * What signIn says about the device: read from navigator (or process) where it can be, then the client's options, then
 * the call's; a field set to null is left out (the server then reads it from the User-Agent).
 */
export function describeDevice(...overrides) {
  const device = { ...detectDevice() };
  for (const override of overrides) {
    if (!override) continue;
    for (const [key, value] of Object.entries(override)) {
      if (value === null) delete device[key];
      else if (value !== undefined) device[key] = value;
    }
  }
  return device;
}

/** The device as far as this runtime can tell without asking. */
export function detectDevice() {
  const process = globalThis.process;
  const electron = process?.versions?.electron;
  const navigator = globalThis.navigator;
  const inBrowser = typeof globalThis.document !== 'undefined' && !electron;
  if (inBrowser) {
    // The server names the device from the User-Agent ("Chrome on Windows"); say only what the browser knows better.
    const device = { platform: navigator?.userAgentData?.mobile || /Mobi|Android|iPhone|iPad/.test(navigator?.userAgent ?? '') ? 'mobile' : 'web' };
    const os = navigator?.userAgentData?.platform;
    if (os) device.os = os;
    return device;
  }
  const os = osName(process?.platform) ?? navigator?.userAgentData?.platform ?? undefined;
  const device = { platform: 'desktop' };
  if (os) device.os = os;
  device.name = `${electron ? 'Electron app' : 'Node.js'}${os ? ` on ${os}` : ''}`;
  return device;
}

function osName(platform) {
  switch (platform) {
    case 'win32': return 'Windows';
    case 'darwin': return 'macOS';
    case 'linux': return 'Linux';
    case 'freebsd': return 'FreeBSD';
    case 'openbsd': return 'OpenBSD';
    case undefined: case null: case '': return undefined;
    default: return platform;
  }
}

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function timeoutSignal(ms) {
  if (!ms || ms <= 0) return undefined;
  if (typeof AbortSignal.timeout === 'function') return AbortSignal.timeout(ms);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

export function describeFailure(error) {
  if (!error) return 'no answer';
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer in time';
  const cause = error.cause?.code ?? error.cause?.message;
  return cause ? `${error.message}: ${cause}` : error.message ?? String(error);
}
