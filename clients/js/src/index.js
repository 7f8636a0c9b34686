// Tessera's JavaScript client: plain ES modules for browsers, Electron and Node (18 or later), no dependencies.
export { TesseraClient, toSessionInfo, describeDevice, detectDevice } from './client.js';
export { SessionWatcher, SessionEndedEvent, WatcherStateEvent } from './watcher.js';
export { TesseraApiError, TesseraUnavailableError, SESSION_ENDED_CODES } from './errors.js';
export { MemoryTokenStore, LocalStorageTokenStore } from './storage.js';
export { createSseParser } from './sse.js';
