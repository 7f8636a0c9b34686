// Type declarations of Tessera's JavaScript client (written by hand next to the modules; there is no build step).

export { createSseParser, SseEvent, SseParser } from './sse.js';

/** "user" or "admin". */
export type Role = 'user' | 'admin';
export type DevicePlatform = 'web' | 'desktop' | 'mobile' | 'cli' | 'api';

/** A revocation reason (docs/api.md, "Revocation reasons"), or session_expired from the event stream. */
export type EndReason =
  | 'signed_out' | 'signed_out_all_devices' | 'signed_out_other_devices' | 'revoked_by_user' | 'password_changed'
  | 'password_reset' | 'user_deactivated' | 'user_banned' | 'user_deleted' | 'revoked_by_admin' | 'token_revoked'
  | 'sign_in_code_replayed' | 'session_expired' | (string & {});

export interface User {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  status: 'active' | 'deactivated' | 'deleted';
  bannedUntil: string | null;
  banned: boolean;
  createdAt: string;
}

export interface Device {
  name: string | null;
  platform: DevicePlatform;
  os: string | null;
  browser: string | null;
}

/** A Session of the API. */
export interface Session {
  id: string;
  device: Device;
  ipAddress: string | null;
  createdAt: string;
  lastActiveAt: string;
  expiresAt: string;
  current: boolean;
  clientId: string | null;
  client: string | null;
}

/** A Session with what an "Active sessions" list shows at hand. */
export interface SessionInfo extends Session {
  deviceName: string | null;
  platform: DevicePlatform | null;
  os: string | null;
  browser: string | null;
  /** lastActiveAt as a Date. */
  lastActive: Date | null;
  /** This device's session. */
  isCurrent: boolean;
}

/** What signIn says about the device; null leaves a detected field out (the server reads it from the User-Agent). */
export interface DeviceDescription {
  name?: string | null;
  platform?: DevicePlatform | null;
  os?: string | null;
}

/** Where the token is kept. Each method may return a promise (a keychain). */
export interface TokenStore {
  get(): string | null | undefined | Promise<string | null | undefined>;
  set(token: string): void | Promise<void>;
  clear(): void | Promise<void>;
}

export class MemoryTokenStore implements TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export class LocalStorageTokenStore implements TokenStore {
  constructor(key?: string, storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>);
  readonly key: string;
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export interface TesseraClientOptions {
  /** Tessera's address; in a browser, the page's origin by default. */
  baseUrl?: string;
  /**
   * "token" (default): a Bearer token kept in tokenStore. "cookie": Tessera's HttpOnly session cookie, kept by the
   * browser; every call is made with credentials: 'include' (a page at Tessera's own origin).
   */
  mode?: 'token' | 'cookie';
  /** MemoryTokenStore by default. */
  tokenStore?: TokenStore;
  /** What signIn says about this device, over what is detected. */
  device?: DeviceDescription;
  fetch?: typeof fetch;
  /** Per request, 15000 by default; past it the call fails with TesseraUnavailableError. */
  timeoutMs?: number;
}

/** The client's own news, for SessionWatcher (observe). */
export type ClientNews =
  | { type: 'signedin' }
  | { type: 'signingout' }
  | { type: 'signoutfailed' }
  | { type: 'signedout' }
  | { type: 'ended'; reason: EndReason | null; message: string; code: string | null };

export class TesseraClient {
  constructor(options?: TesseraClientOptions);
  readonly baseUrl: string;
  readonly mode: 'token' | 'cookie';
  readonly tokenStore: TokenStore;
  device: DeviceDescription;
  timeoutMs: number;

  /** The stored token (always null in cookie mode). */
  getToken(): Promise<string | null>;
  signIn(email: string, password: string, device?: DeviceDescription): Promise<{ session: Session; user: User }>;
  /** Ends this session and forgets the token; signing out of an ended session is no error. */
  signOut(): Promise<void>;
  /** GET /v1/auth/session. */
  whoami(): Promise<{ session: SessionInfo; user: User }>;
  listSessions(): Promise<SessionInfo[]>;
  endSession(id: string): Promise<void>;
  /** Returns how many sessions ended. */
  endOtherSessions(): Promise<number>;
  /** "Sign out all devices", this one included; forgets the token. Returns how many sessions ended. */
  endAllSessions(): Promise<number>;
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  requestPasswordReset(email: string): Promise<void>;
  resetPassword(token: string, newPassword: string): Promise<void>;
  register(email: string, password: string, displayName?: string): Promise<User>;

  /** The event stream's address. */
  readonly eventsUrl: string;
  /** The headers and credentials mode of a request of this session. */
  authorization(): Promise<{ headers: Record<string, string>; credentials: RequestCredentials; hasToken: boolean }>;
  readonly fetch: typeof fetch;
  /** Hears signedin, signedout, and ended (a call or the watcher learned the session is over; the token is forgotten). */
  observe(observer: (news: ClientNews) => void): () => void;
  /** Forgets the token and tells the observers that the session ended. */
  sessionEnded(ending: { reason: EndReason | null; message: string; code: string | null }): Promise<void>;
}

/** The 401 codes of the session check. */
export const SESSION_ENDED_CODES: readonly string[];

/** The server answered no: an RFC 9457 problem, with its code and the server's sentence as message. */
export class TesseraApiError extends Error {
  constructor(status: number, problem: Record<string, unknown> | null);
  readonly name: 'TesseraApiError';
  readonly status: number;
  /** The problem's code: invalid_credentials, session_revoked, account_banned, rate_limited, … */
  readonly code: string;
  /** The revocation reason, on the 401s of a session that was ended. */
  readonly reason: EndReason | null;
  /** On account_banned: when the ban ends (null: until unbanned). */
  readonly bannedUntil: string | null;
  /** On rate_limited: seconds to wait. */
  readonly retryAfter: number | null;
  /** On validation_failed from Tessera's checks: the fields at fault. */
  readonly errors: Record<string, string[]> | null;
  readonly problem: Record<string, unknown> | null;
  /** A 401 of the session check: the session is over. */
  readonly sessionEnded: boolean;
  /** reason, or the reason the code stands for. */
  readonly endReason: EndReason | null;
}

/** Tessera could not be reached: nothing was decided, and nothing is signed out. */
export class TesseraUnavailableError extends Error {
  constructor(message: string, cause?: unknown);
  readonly name: 'TesseraUnavailableError';
}

export type WatcherState = 'idle' | 'connecting' | 'connected' | 'polling' | 'offline' | 'ended';

export interface SessionWatcherOptions {
  /** "auto" (default): EventSource in cookie mode where there is one, else a streaming fetch, else polling. */
  transport?: 'auto' | 'eventsource' | 'fetch' | 'poll';
  /** A stream with no event for this long is dropped and reconnected (45000; the server pings every 20 s). */
  pingTimeoutMs?: number;
  /** Reconnect backoff, jittered: the first (500) and the longest (30000) wait. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Streams lost before their first ping, in a row, while the server answers, before polling (3). */
  streamFailuresBeforePolling?: number;
  /** While polling, in the foreground: GET /v1/auth/session this often (60000). */
  pollIntervalMs?: number;
  /** While polling: try the stream again this often (300000). */
  streamRetryMs?: number;
  /** The EventSource constructor (globalThis.EventSource by default). */
  EventSource?: typeof EventSource;
  /** For the jitter (Math.random by default). */
  random?: () => number;
  /** In a browser: follow "online" and the page's visibility (true by default). */
  browserEvents?: boolean;
}

export class WatcherStateEvent extends Event {
  readonly type: 'statechange';
  readonly state: WatcherState;
  readonly previous: WatcherState;
  readonly detail: { state: WatcherState; previous: WatcherState };
}

export class SessionEndedEvent extends Event {
  readonly type: 'sessionended';
  readonly reason: EndReason | null;
  /** The server's sentence for the person ("Your session was ended from another device."). */
  readonly message: string;
  /** The 401's code when a request learned it (session_revoked, account_banned, …); null when the stream said it. */
  readonly code: string | null;
  readonly detail: { reason: EndReason | null; message: string; code: string | null };
}

export interface SessionWatcherEventMap {
  statechange: WatcherStateEvent;
  sessionended: SessionEndedEvent;
}

/**
 * Watches the signed-in session. A network failure is state "offline" and never a sign-out; only a 401 of the session
 * check or the stream's session.revoked clears the token and fires "sessionended", once per start().
 */
export class SessionWatcher extends EventTarget {
  constructor(client: TesseraClient, options?: SessionWatcherOptions);
  readonly state: WatcherState;
  readonly transport: 'eventsource' | 'fetch' | 'poll';
  start(): void;
  stop(): void;
  setForeground(foreground: boolean): void;
  /** Asks now whether the session holds; resolves with the state after the answer. */
  checkNow(): Promise<WatcherState>;
  addEventListener<K extends keyof SessionWatcherEventMap>(
    type: K, listener: (event: SessionWatcherEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof SessionWatcherEventMap>(
    type: K, listener: (event: SessionWatcherEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

export function toSessionInfo(session: Session): SessionInfo;
export function describeDevice(...overrides: (DeviceDescription | undefined)[]): DeviceDescription;
export function detectDevice(): DeviceDescription;
