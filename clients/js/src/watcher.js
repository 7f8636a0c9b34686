// SessionWatcher: knows at once that the session ended, and why, and never mistakes a network failure for that.
//
// It holds GET /v1/events open (EventSource in a browser with Tessera's cookie; a streaming fetch with the Bearer
// token elsewhere) and reconnects with jittered backoff when the stream drops or its pings stop. Each time the stream
// is lost it asks GET /v1/auth/session once to learn which it was:
//   - no answer (network down, DNS, reset, timeout) or a 5xx: state "offline". The token stays; nothing is signed out.
//   - a 401 of the session check: the session ended. The token is cleared and "sessionended" fires, once, with the
//     reason and the server's sentence. The stream's own session.revoked event does the same without the extra call.
//   - 200: the server is there but the stream could not be held (a proxy that buffers or cuts it, too many streams):
//     after a few such failures in a row the watcher polls GET /v1/auth/session instead, only while the app is in the
//     foreground, and keeps trying the stream now and then.
import { TesseraApiError } from './errors.js';
import { createSseParser } from './sse.js';
import { timeoutSignal } from './client.js';

/** "statechange": the watcher's state moved. */
export class WatcherStateEvent extends Event {
  constructor(state, previous) {
    super('statechange');
    this.state = state;
    this.previous = previous;
    this.detail = { state, previous };
  }
}

/** "sessionended": the session is over (the token is already cleared). Fired once per start(). */
export class SessionEndedEvent extends Event {
  constructor({ reason, message, code }) {
    super('sessionended');
    this.reason = reason ?? null;
    this.message = message ?? '';
    this.code = code ?? null;
    this.detail = { reason: this.reason, message: this.message, code: this.code };
  }
}

const DEFAULTS = {
  transport: 'auto',
  pingTimeoutMs: 45000, // the server pings every 20 s
  backoffInitialMs: 500,
  backoffMaxMs: 30000,
  streamFailuresBeforePolling: 3,
  pollIntervalMs: 60000,
  streamRetryMs: 300000,
};

export class SessionWatcher extends EventTarget {
  #client;
  #options;
  #state = 'idle';
  #running = false;
  #ended = false;
  #foreground = true;
  #generation = 0;
  #connection = null; // { close(), sawPing }
  #attempt = 0; // backoff step
  #streamFailures = 0; // streams lost before their first ping while the server answered
  #polling = false;
  #reconnectTimer = null;
  #pollTimer = null;
  #pingTimer = null;
  #unobserve = null;
  #unlisten = null;
  #probe = null; // the check in flight, shared
  #signingOut = false; // the app is ending its own session

  /**
   * @param {import('./client.js').TesseraClient} client
   * @param {object} [options] see DEFAULTS; plus EventSource (a constructor) and random (for the jitter)
   */
  constructor(client, options = {}) {
    super();
    this.#client = client;
    this.#options = { ...DEFAULTS, ...options };
    this.#options.EventSource = options.EventSource ?? globalThis.EventSource;
    this.#options.random = options.random ?? Math.random;
    if (typeof document !== 'undefined' && document.visibilityState) this.#foreground = document.visibilityState !== 'hidden';
  }

  /** 'idle' | 'connecting' | 'connected' | 'polling' | 'offline' | 'ended' */
  get state() { return this.#state; }

  /** The transport in use: 'eventsource', 'fetch' or 'poll'. */
  get transport() {
    const wanted = this.#options.transport;
    if (wanted !== 'auto') return wanted;
    if (this.#client.mode === 'cookie' && typeof this.#options.EventSource === 'function') return 'eventsource';
    if (typeof ReadableStream === 'function') return 'fetch';
    return 'poll';
  }

  /** Starts watching the signed-in session (again, after a sessionended and a new sign-in). */
  start() {
    if (this.#running) return;
    this.#running = true;
    this.#ended = false;
    this.#signingOut = false;
    this.#attempt = 0;
    this.#streamFailures = 0;
    this.#polling = false;
    this.#unobserve = this.#client.observe((news) => this.#onClientNews(news));
    this.#listenToBrowser();
    this.#setState('connecting');
    if (this.transport === 'poll') this.#enterPolling();
    else this.#connect();
  }

  /** Stops watching; the token is kept. */
  stop() {
    this.#halt();
    if (this.#state !== 'ended') this.#setState('idle');
  }

  /**
   * The app is in the foreground (true) or not. Polling, when the stream cannot be held, runs only in the foreground;
   * coming back to it checks at once.
   */
  setForeground(foreground) {
    foreground = Boolean(foreground);
    if (foreground === this.#foreground) return;
    this.#foreground = foreground;
    if (!this.#running) return;
    if (!foreground) {
      this.#clearPollTimer();
      if (this.#polling) this.#clearReconnectTimer(); // nothing at all in the background while the stream cannot be held
    } else if (this.#polling || this.#state === 'offline') {
      this.checkNow();
      // Try the stream again at once: it may be holdable now.
      if (this.#polling && this.#connection === null && this.#reconnectTimer === null) this.#connect();
    }
  }

  /**
   * Asks the server now whether the session holds (on wake from sleep, when the network is back). Resolves with the
   * state after the answer: 'ended' when it did not hold, 'offline' when there was no answer.
   */
  async checkNow() {
    if (!this.#running) return this.#state;
    const verdict = await this.#check();
    if (!this.#running) return this.#state;
    if (verdict === 'ok') {
      if (this.#polling) {
        this.#setState('polling');
        this.#schedulePoll();
      } else if (this.#state === 'offline') {
        // Back: connect the stream now instead of at the end of the backoff. A stream still open from before may be dead
        // without knowing it yet (a stalled route): replace it rather than trust it.
        this.#setState('connecting');
        this.#clearReconnectTimer();
        this.#connect();
      }
    } else if (verdict === 'unreachable') {
      this.#setState('offline');
    }
    return this.#state;
  }

  // ---- the stream ----------------------------------------------------------------------------------------------------

  #connect() {
    this.#closeConnection();
    const generation = ++this.#generation;
    const current = () => generation === this.#generation && this.#running;
    const connection = { sawPing: false, close: () => {} };
    this.#connection = connection;
    this.#armPingTimer(current);
    const onEvent = (type, data) => {
      if (!current()) return;
      this.#armPingTimer(current);
      if (type === 'ping') {
        connection.sawPing = true;
        this.#attempt = 0;
        this.#streamFailures = 0;
        if (this.#polling) this.#leavePolling();
        this.#setState('connected');
      } else if (type === 'session.revoked') {
        let payload = {};
        try { payload = JSON.parse(data); } catch { /* the check below tells */ }
        if (payload.reason) {
          // The stream says why, not with which 401 code a request would now be refused: code stays null.
          this.#end({ reason: payload.reason, message: payload.message ?? '', code: null }, true);
        } else {
          this.#lost(connection, current);
        }
      }
    };
    if (this.transport === 'eventsource') this.#openEventSource(connection, current, onEvent);
    else this.#openFetch(connection, current, onEvent);
  }

  #openEventSource(connection, current, onEvent) {
    const source = new this.#options.EventSource(this.#client.eventsUrl, { withCredentials: true });
    connection.close = () => source.close();
    source.addEventListener('ping', (event) => onEvent('ping', event.data));
    source.addEventListener('session.revoked', (event) => onEvent('session.revoked', event.data));
    // EventSource hides the status of a refused stream and retries a dropped one on its own schedule: close it and
    // let the check say what happened.
    source.addEventListener('error', () => {
      source.close();
      if (current()) this.#lost(connection, current);
    });
  }

  async #openFetch(connection, current, onEvent) {
    const controller = new AbortController();
    connection.close = () => controller.abort();
    let response;
    try {
      const { headers, credentials } = await this.#client.authorization();
      headers.Accept = 'text/event-stream';
      response = await this.#client.fetch(this.#client.eventsUrl, { headers, credentials, signal: controller.signal });
    } catch {
      if (current()) this.#lost(connection, current);
      return;
    }
    if (!current()) {
      controller.abort();
      return;
    }
    if (response.status === 401) {
      const problem = await response.json().catch(() => null);
      const error = new TesseraApiError(401, problem);
      if (error.sessionEnded) {
        if (current()) this.#end({ reason: error.endReason, message: error.message, code: error.code }, true);
        return;
      }
    }
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !response.body || !type.startsWith('text/event-stream')) {
      // The server answered, with no stream: 429 (too many streams: the session holds, it was checked first), a proxy's
      // page, or a 5xx (nothing decided). No need to ask again what the answer already says.
      controller.abort();
      if (current()) this.#lost(connection, current, response.status >= 500 ? 'unreachable' : 'ok');
      return;
    }
    const parser = createSseParser((event) => onEvent(event.type, event.data));
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !current()) break;
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch {
      // Aborted, reset or cut: the same as its end.
    }
    parser.end();
    controller.abort();
    if (current()) this.#lost(connection, current);
  }

  #armPingTimer(current) {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      if (current() && this.#connection) this.#lost(this.#connection, current);
    }, this.#options.pingTimeoutMs);
  }

  /** The stream dropped, was refused, or went quiet: learn why (unless the answer said it), then go on. */
  async #lost(connection, current, known) {
    if (this.#connection !== connection) return;
    clearTimeout(this.#pingTimer);
    this.#connection = null;
    ++this.#generation; // late events of that stream are stale now
    connection.close();
    const verdict = known ?? await this.#check();
    if (!this.#running || this.#connection !== null) return;
    if (verdict === 'ok') {
      if (!connection.sawPing) this.#streamFailures++;
      if (this.#streamFailures >= this.#options.streamFailuresBeforePolling) {
        this.#enterPolling();
        return;
      }
      // The session holds and the server is there: a stream that had been up comes back at once.
      if (connection.sawPing) {
        this.#setState('connecting');
        this.#scheduleReconnect(0);
        return;
      }
      if (!this.#polling) this.#setState('connecting');
    } else if (verdict === 'unreachable') {
      this.#setState('offline');
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(fixedDelay) {
    this.#clearReconnectTimer();
    // Polling because the stream cannot be held, and in the background: nothing at all until the app is back.
    if (this.#polling && !this.#foreground) return;
    let delay = fixedDelay;
    if (delay === undefined) {
      const ceiling = Math.min(this.#options.backoffMaxMs, this.#options.backoffInitialMs * 2 ** this.#attempt);
      this.#attempt = Math.min(this.#attempt + 1, 30);
      delay = this.#polling ? this.#options.streamRetryMs : ceiling / 2 + (this.#options.random() * ceiling) / 2;
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#running) this.#connect();
    }, delay);
  }

  // ---- checks and polling --------------------------------------------------------------------------------------------

  /** GET /v1/auth/session once: 'ok', 'ended' (the client has told us already), 'unreachable' or 'refused'. */
  #check() {
    if (this.#probe) return this.#probe;
    this.#probe = (async () => {
      try {
        await this.#client.whoami();
        return 'ok';
      } catch (error) {
        if (error instanceof TesseraApiError) {
          if (error.sessionEnded) return 'ended';
          return error.status >= 500 ? 'unreachable' : 'refused';
        }
        // TesseraUnavailableError, or anything else that is not the server's answer: never an end.
        return 'unreachable';
      } finally {
        this.#probe = null;
      }
    })();
    return this.#probe;
  }

  #enterPolling() {
    this.#polling = true;
    this.#setState('polling');
    this.#schedulePoll();
    if (this.transport !== 'poll') this.#scheduleReconnect();
  }

  #leavePolling() {
    this.#polling = false;
    this.#clearPollTimer();
  }

  #schedulePoll() {
    this.#clearPollTimer();
    if (!this.#running || !this.#polling || !this.#foreground) return;
    this.#pollTimer = setTimeout(async () => {
      this.#pollTimer = null;
      await this.checkNow();
      this.#schedulePoll();
    }, this.#options.pollIntervalMs);
  }

  // ---- the end -------------------------------------------------------------------------------------------------------

  async #end(ending, tellClient) {
    if (this.#ended) return;
    if (this.#signingOut) {
      // The app is ending this session itself (signOut, endAllSessions): the stream's word on it is no news.
      this.stop();
      return;
    }
    this.#ended = true;
    this.#halt();
    // The stream said it (or saw the 401) first: the client forgets the token; its news comes back here and is ignored.
    if (tellClient) await this.#client.sessionEnded(ending);
    this.#setState('ended');
    this.dispatchEvent(new SessionEndedEvent(ending));
  }

  #onClientNews(news) {
    if (news.type === 'ended') this.#end(news, false);
    else if (news.type === 'signingout') this.#signingOut = true;
    else if (news.type === 'signoutfailed') this.#signingOut = false;
    else if (news.type === 'signedout') this.stop(); // the app signed out itself: nothing to announce
  }

  #halt() {
    this.#running = false;
    ++this.#generation;
    this.#closeConnection();
    clearTimeout(this.#pingTimer);
    this.#clearReconnectTimer();
    this.#clearPollTimer();
    this.#polling = false;
    this.#unobserve?.();
    this.#unobserve = null;
    this.#unlisten?.();
    this.#unlisten = null;
  }

  #closeConnection() {
    const connection = this.#connection;
    this.#connection = null;
    connection?.close();
  }

  #clearReconnectTimer() {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
  }

  #clearPollTimer() {
    clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
  }

  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.dispatchEvent(new WatcherStateEvent(state, previous));
  }

  /** In a browser: the network coming back and the page being shown or hidden. */
  #listenToBrowser() {
    if (typeof window === 'undefined' || typeof window.addEventListener !== 'function' || this.#options.browserEvents === false) return;
    const online = () => { if (this.#state === 'offline') this.checkNow(); };
    const visibility = () => this.setForeground(document.visibilityState !== 'hidden');
    window.addEventListener('online', online);
    document.addEventListener('visibilitychange', visibility);
    this.#unlisten = () => {
      window.removeEventListener('online', online);
      document.removeEventListener('visibilitychange', visibility);
    };
  }
}
