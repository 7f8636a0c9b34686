// Where the session token is kept: a tiny interface (get, set, clear; each may return a promise), with a memory store
// (the default) and a localStorage store for browsers. A keychain (Electron's safeStorage, keytar) fits behind the same
// three methods.

/** Keeps the token in memory only: it is gone when the page or process is. */
export class MemoryTokenStore {
  #token = null;
  get() { return this.#token; }
  set(token) { this.#token = token; }
  clear() { this.#token = null; }
}

/**
 * Keeps the token in Web Storage (localStorage by default), so that a reload and other tabs of the same origin share it.
 * Anything that can run script on the origin can read it: prefer the cookie mode for pages served with Tessera.
 */
export class LocalStorageTokenStore {
  /** @param {string} [key] @param {Storage} [storage] */
  constructor(key = 'tessera.token', storage = globalThis.localStorage) {
    if (!storage) throw new TypeError('No localStorage here: pass a Storage, or use MemoryTokenStore.');
    this.key = key;
    this.storage = storage;
  }
  get() { return this.storage.getItem(this.key); }
  set(token) { this.storage.setItem(this.key, token); }
  clear() { this.storage.removeItem(this.key); }
}
