// SessionWatcher (the streaming-fetch transport, as in Node and Electron's main process) against a real Tessera process:
// every way a session ends is announced once, with the reason and the server's sentence; a network that is gone, silent
// or a server that is down is "offline" and never a sign-out; the truth is learned when the server is back.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TesseraClient, SessionWatcher, MemoryTokenStore } from '../src/index.js';
import { TesseraProcess, PASSWORD, newEmail, until } from './support/server.js';
import { TcpProxy } from './support/proxy.js';

// Quick reconnects so that a test learns what happens without waiting for the production backoff.
const QUICK = { backoffInitialMs: 50, backoffMaxMs: 400 };

describe('SessionWatcher', { timeout: 300000 }, () => {
  let tessera;
  const cleanups = [];
  before(async () => {
    tessera = new TesseraProcess();
    await tessera.start();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()();
  });
  after(async () => { await tessera?.dispose(); });

  /** A user signed in through a client at baseUrl (Tessera, or a proxy in front of it), with a started watcher. */
  async function watched(who, { baseUrl = tessera.baseUrl, email, options = {}, clientOptions = {} } = {}) {
    email ??= newEmail(who);
    const userId = email.startsWith(who) ? await tessera.register(email).catch(() => null) : null;
    const store = new MemoryTokenStore();
    const client = new TesseraClient({ baseUrl, tokenStore: store, ...clientOptions });
    const { session } = await client.signIn(email, PASSWORD, { name: who, platform: 'desktop' });
    const watcher = new SessionWatcher(client, { ...QUICK, ...options });
    const ended = [];
    const states = [];
    watcher.addEventListener('sessionended', (event) => ended.push(event));
    watcher.addEventListener('statechange', (event) => states.push(event.state));
    cleanups.push(() => watcher.stop());
    watcher.start();
    await until(() => watcher.state === 'connected', `${who}'s watcher to connect`);
    return { email, userId, client, store, session, watcher, ended, states };
  }

  async function endedOnce(w, reason, message) {
    await until(() => w.ended.length > 0, `sessionended (${reason})`);
    assert.equal(w.ended[0].reason, reason);
    assert.equal(w.ended[0].message, message);
    assert.equal(w.ended[0].detail.message, message);
    assert.equal(w.watcher.state, 'ended');
    assert.equal(w.store.get(), null, 'the token is cleared');
    // Everything that could announce it again: a check, a call that gets the 401, the stream's close.
    assert.equal(await w.watcher.checkNow(), 'ended');
    await assert.rejects(w.client.whoami());
    assert.equal(w.ended.length, 1, 'sessionended fires once');
  }

  const ENDINGS = [
    ['revoked_by_user', 'Your session was ended from another device.', async (w) => {
      const other = await tessera.login(w.email);
      assert.equal((await tessera.call('DELETE', `/v1/sessions/${w.session.id}`, { token: other })).status, 204);
    }],
    ['signed_out_other_devices', 'Your session was ended from another device.', async (w) => {
      const other = await tessera.login(w.email);
      assert.equal((await tessera.call('POST', '/v1/sessions/revoke-others', { token: other })).status, 200);
    }],
    ['signed_out_all_devices', 'You signed out of all devices.', async (w) => {
      const other = await tessera.login(w.email);
      assert.equal((await tessera.call('POST', '/v1/sessions/revoke-all', { token: other })).status, 200);
    }],
    ['password_changed', 'Your password was changed, so this session was ended. Please sign in again.', async (w) => {
      const other = await tessera.login(w.email);
      const answer = await tessera.call('POST', '/v1/auth/password/change', { token: other, body: { currentPassword: PASSWORD, newPassword: 'a-new-and-better-one-5' } });
      assert.equal(answer.status, 204);
    }],
    ['user_banned', 'Your account has been banned.', (w) => tessera.admin_('POST', `/v1/admin/users/${w.userId}/ban`, {})],
    ['user_deactivated', 'Your account has been deactivated.', (w) => tessera.admin_('POST', `/v1/admin/users/${w.userId}/deactivate`, {})],
    ['user_deleted', 'Your account has been deleted.', (w) => tessera.admin_('DELETE', `/v1/admin/users/${w.userId}`)],
    ['revoked_by_admin', 'An administrator ended your session.', (w) => tessera.admin_('DELETE', `/v1/admin/users/${w.userId}/sessions`)],
  ];

  for (const [reason, message, end] of ENDINGS) {
    it(`announces ${reason} once, with the server's sentence, and clears the token`, async () => {
      const w = await watched(reason.replace(/_/g, '-'));
      await end(w);
      await endedOnce(w, reason, message);
    });
  }

  it('two copies of an app on one machine both learn it', async () => {
    const first = await watched('copy-a');
    const second = await watched('copy-b', { email: first.email });
    await tessera.admin_('POST', `/v1/admin/users/${first.userId}/deactivate`, {});
    await endedOnce(first, 'user_deactivated', 'Your account has been deactivated.');
    await endedOnce(second, 'user_deactivated', 'Your account has been deactivated.');
  });

  it('announces nothing when the app signs out itself or signs out of all devices', async () => {
    // The stream's session.revoked and the call's answer race; a few rounds of each see both orders.
    for (let round = 0; round < 5; round++) {
      const w = await watched('self');
      await w.client.signOut();
      assert.equal(w.watcher.state, 'idle');
      const v = await watched('self-all');
      await v.client.endAllSessions();
      assert.equal(v.watcher.state, 'idle');
      assert.equal(w.ended.length + v.ended.length, 0, `round ${round}`);
      assert.equal(w.store.get(), null);
      assert.equal(v.store.get(), null);
    }
  });

  it('a cut network is offline, never a sign-out; when it is back the watcher is connected again', async () => {
    const proxy = new TcpProxy(tessera.port);
    await proxy.start();
    cleanups.push(() => proxy.dispose());
    const w = await watched('cut', { baseUrl: proxy.baseUrl });
    const token = w.store.get();

    await proxy.cut();
    await until(() => w.watcher.state === 'offline', 'state offline');
    // Several reconnects fail meanwhile (the backoff is short here); the session stands.
    const failures = w.states.length;
    await until(async () => (await w.watcher.checkNow()) === 'offline' && w.states.length >= failures, 'a check while offline');
    assert.equal(w.store.get(), token);
    assert.equal(w.ended.length, 0);

    await proxy.restore();
    await until(() => w.watcher.state === 'connected', 'connected again');
    assert.equal(w.ended.length, 0);
    assert.equal(w.store.get(), token);
  });

  it('a session ended while the network was gone is learned when it is back, with its reason', async () => {
    const proxy = new TcpProxy(tessera.port);
    await proxy.start();
    cleanups.push(() => proxy.dispose());
    const w = await watched('away', { baseUrl: proxy.baseUrl });
    await proxy.cut();
    await until(() => w.watcher.state === 'offline', 'state offline');
    await tessera.admin_('DELETE', `/v1/admin/users/${w.userId}/sessions`);
    assert.equal(w.ended.length, 0);
    await proxy.restore();
    // Learned at the next reconnect, or at once when the app checks (as on wake or when the network comes back).
    await w.watcher.checkNow();
    await endedOnce(w, 'revoked_by_admin', 'An administrator ended your session.');
  });

  it('a silent network (no pings, no answers) times out into offline, and recovers', async () => {
    const proxy = new TcpProxy(tessera.port);
    await proxy.start();
    cleanups.push(() => proxy.dispose());
    const w = await watched('stall', {
      baseUrl: proxy.baseUrl,
      options: { pingTimeoutMs: 25000 },
      clientOptions: { timeoutMs: 500 },
    });
    proxy.stall();
    // The open stream is silent until its ping timeout; a check now finds no answer within the client's timeout.
    assert.equal(await w.watcher.checkNow(), 'offline');
    assert.equal(w.ended.length, 0);
    await proxy.restore();
    // Back: a fresh stream replaces the silent one (it may already be up by the time the check answers).
    assert.ok(['connecting', 'connected'].includes(await w.watcher.checkNow()));
    await until(() => w.watcher.state === 'connected', 'connected again');
    assert.equal(w.ended.length, 0);
  });

  it('a stream whose pings stop is dropped after the ping timeout and the watcher reconnects', async () => {
    const proxy = new TcpProxy(tessera.port);
    await proxy.start();
    cleanups.push(() => proxy.dispose());
    const w = await watched('quiet', { baseUrl: proxy.baseUrl, options: { pingTimeoutMs: 1000 }, clientOptions: { timeoutMs: 500 } });
    proxy.stall();
    await until(() => w.watcher.state === 'offline', 'offline after the ping timeout');
    await proxy.restore();
    await until(() => w.watcher.state === 'connected', 'connected again');
    assert.equal(w.ended.length, 0);
  });

  it('a server that stops is offline; restarted, the watcher reconnects to the same session', async () => {
    const own = new TesseraProcess();
    await own.start();
    cleanups.push(() => own.dispose());
    const email = newEmail('restart');
    await own.register(email);
    const store = new MemoryTokenStore();
    const client = new TesseraClient({ baseUrl: own.baseUrl, tokenStore: store });
    await client.signIn(email, PASSWORD);
    const token = store.get();
    const watcher = new SessionWatcher(client, QUICK);
    let ended = 0;
    watcher.addEventListener('sessionended', () => { ended += 1; });
    cleanups.push(() => watcher.stop());
    watcher.start();
    await until(() => watcher.state === 'connected', 'connected');

    await own.stop();
    await until(() => watcher.state === 'offline', 'offline while the server is down');
    assert.equal(await watcher.checkNow(), 'offline');
    assert.equal(store.get(), token);

    await own.start();
    await until(() => watcher.state === 'connected', 'connected after the restart', 60000);
    assert.equal(ended, 0);
    assert.equal((await client.whoami()).session.isCurrent, true);
  });

  it('polls only when the stream cannot be held, only in the foreground, and goes back to the stream', async () => {
    const email = newEmail('poll');
    const userId = await tessera.register(email);
    const token = await tessera.login(email);
    // Every stream this session may open, held by something else: the watcher's are refused with 429.
    const holders = [];
    for (let i = 0; i < 10; i++) {
      const controller = new AbortController();
      const response = await fetch(`${tessera.baseUrl}/v1/events`, { headers: { Authorization: `Bearer ${token}` }, signal: controller.signal });
      assert.equal(response.status, 200);
      holders.push(controller);
    }
    cleanups.push(() => holders.forEach((c) => c.abort()));

    let checks = 0;
    let inFlight = 0;
    const counting = (url, init) => {
      if (!String(url).endsWith('/v1/auth/session')) return fetch(url, init);
      checks += 1;
      inFlight += 1;
      return fetch(url, init).finally(() => { inFlight -= 1; });
    };
    const store = new MemoryTokenStore();
    store.set(token);
    const client = new TesseraClient({ baseUrl: tessera.baseUrl, tokenStore: store, fetch: counting });
    const watcher = new SessionWatcher(client, { ...QUICK, streamFailuresBeforePolling: 2, pollIntervalMs: 50, streamRetryMs: 100 });
    const ended = [];
    watcher.addEventListener('sessionended', (e) => ended.push(e));
    cleanups.push(() => watcher.stop());
    watcher.start();
    await until(() => watcher.state === 'polling', 'polling');
    const polled = checks;
    await until(() => checks >= polled + 3, 'polls in the foreground');

    // In the background nothing is polled (a negative: watched over 20 poll intervals).
    watcher.setForeground(false);
    await until(() => inFlight === 0, 'a poll already on its way to land');
    const quiet = checks;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(checks, quiet, 'no polls in the background');

    // Back in the foreground it checks at once, and the stream is back as soon as it can be held.
    watcher.setForeground(true);
    await until(() => checks > quiet, 'a check on coming to the foreground');
    holders.forEach((c) => c.abort());
    await until(() => watcher.state === 'connected', 'the stream again');
    await tessera.admin_('POST', `/v1/admin/users/${userId}/ban`, {});
    await until(() => ended.length === 1, 'sessionended');
    assert.equal(ended[0].reason, 'user_banned');
  });

  it('while polling, a session that ends is announced at the next poll', async () => {
    const email = newEmail('poll-end');
    const userId = await tessera.register(email);
    const store = new MemoryTokenStore();
    const client = new TesseraClient({ baseUrl: tessera.baseUrl, tokenStore: store });
    await client.signIn(email, PASSWORD);
    const watcher = new SessionWatcher(client, { transport: 'poll', pollIntervalMs: 50 });
    const ended = [];
    watcher.addEventListener('sessionended', (e) => ended.push(e));
    cleanups.push(() => watcher.stop());
    watcher.start();
    assert.equal(watcher.state, 'polling');
    await tessera.admin_('POST', `/v1/admin/users/${userId}/deactivate`, {});
    await until(() => ended.length === 1, 'sessionended');
    assert.equal(ended[0].reason, 'user_deactivated');
    assert.equal(ended[0].message, 'Your account has been deactivated.');
    assert.equal(store.get(), null);
  });
});
