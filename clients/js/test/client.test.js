// TesseraClient against a real Tessera process: every operation and the errors a person must be told about.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  TesseraClient, TesseraApiError, TesseraUnavailableError, MemoryTokenStore, LocalStorageTokenStore,
} from '../src/index.js';
import { TesseraProcess, PASSWORD, newEmail, freePort } from './support/server.js';

describe('TesseraClient', { timeout: 300000 }, () => {
  let tessera;
  before(async () => {
    tessera = new TesseraProcess();
    await tessera.start();
  });
  after(async () => { await tessera?.dispose(); });

  const client = (options = {}) => new TesseraClient({ baseUrl: tessera.baseUrl, ...options });

  /** A new user signed in on a client of its own. */
  async function signedIn(who, device) {
    const email = newEmail(who);
    const userId = await tessera.register(email);
    const c = client();
    const { session, user } = await c.signIn(email, PASSWORD, device);
    return { email, userId, client: c, session, user };
  }

  async function rejectsWith(promise, status, code) {
    const error = await promise.then(() => null, (e) => e);
    assert.ok(error instanceof TesseraApiError, `expected TesseraApiError ${status} ${code}, got ${error}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    return error;
  }

  it('signs in with the device it is given, keeps the token, and says who is signed in', async () => {
    const email = newEmail('ada');
    const userId = await tessera.register(email);
    const store = new MemoryTokenStore();
    const c = client({ tokenStore: store });
    const { session, user } = await c.signIn(email, PASSWORD, { name: "Ada's laptop", platform: 'desktop', os: 'Debian 12' });
    assert.equal(user.id, userId);
    assert.equal(user.email, email);
    assert.deepEqual([session.device.name, session.device.platform, session.device.os], ["Ada's laptop", 'desktop', 'Debian 12']);
    assert.match(store.get(), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await c.getToken(), store.get());

    const me = await c.whoami();
    assert.equal(me.user.id, userId);
    assert.equal(me.session.id, session.id);
    assert.equal(me.session.isCurrent, true);
    assert.equal(me.session.deviceName, "Ada's laptop");
  });

  it('describes a Node device by itself: desktop, the OS, and a name', async () => {
    const { session } = await signedIn('node');
    assert.equal(session.device.platform, 'desktop');
    assert.equal(session.device.os, process.platform === 'linux' ? 'Linux' : session.device.os);
    assert.match(session.device.name, /^Node\.js on /);
  });

  it('lists the sessions with device, OS, browser, IP, last active and which one is this', async () => {
    const { email, client: laptop, session } = await signedIn('list', { name: 'Laptop', platform: 'desktop', os: 'Windows 11' });
    const phone = await tessera.call('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    assert.equal(phone.status, 200);
    // A browser on a phone, named by the server from its User-Agent.
    const browser = await fetch(`${tessera.baseUrl}/v1/auth/login`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    assert.equal(browser.status, 200);

    const sessions = await laptop.listSessions();
    assert.equal(sessions.length, 3);
    const mine = sessions.filter((s) => s.isCurrent);
    assert.deepEqual(mine.map((s) => s.id), [session.id]);
    assert.equal(mine[0].deviceName, 'Laptop');
    assert.equal(mine[0].os, 'Windows 11');
    assert.equal(mine[0].platform, 'desktop');
    assert.equal(mine[0].ipAddress, '127.0.0.1');
    assert.ok(mine[0].lastActive instanceof Date && !Number.isNaN(mine[0].lastActive.getTime()));
    const iphone = sessions.find((s) => s.browser !== null);
    assert.ok(iphone, 'the phone browser session names its browser');
    assert.match(iphone.browser, /Safari/);
    assert.match(iphone.os, /iOS/);
    assert.equal(iphone.platform, 'mobile');
    assert.equal(iphone.isCurrent, false);
  });

  it('ends one other session, and refuses to end its own or an unknown one', async () => {
    const { email, client: laptop, session } = await signedIn('one');
    const phone = client();
    const { session: phoneSession } = await phone.signIn(email, PASSWORD, { name: 'Phone', platform: 'mobile' });

    await laptop.endSession(phoneSession.id);
    const ended = await rejectsWith(phone.whoami(), 401, 'session_revoked');
    assert.equal(ended.reason, 'revoked_by_user');
    assert.equal(ended.message, 'Your session was ended from another device.');
    assert.equal(await phone.getToken(), null, 'a session-ending 401 clears the stored token');

    const own = await rejectsWith(laptop.endSession(session.id), 400, 'cannot_revoke_current');
    assert.ok(own.message.length > 0);
    await rejectsWith(laptop.endSession('ses_unknown'), 404, 'not_found');
    await rejectsWith(laptop.endSession(phoneSession.id), 404, 'not_found');
    assert.equal((await laptop.whoami()).session.id, session.id);
  });

  it('ends every other session and keeps this one', async () => {
    const { email, client: laptop } = await signedIn('others');
    const phone = client();
    const tablet = client();
    await phone.signIn(email, PASSWORD);
    await tablet.signIn(email, PASSWORD);
    assert.equal(await laptop.endOtherSessions(), 2);
    const error = await rejectsWith(tablet.listSessions(), 401, 'session_revoked');
    assert.equal(error.reason, 'signed_out_other_devices');
    assert.equal((await laptop.listSessions()).length, 1);
  });

  it('signs out of all devices: every session ends, this token is forgotten', async () => {
    const { email, client: laptop } = await signedIn('all');
    const phone = client();
    await phone.signIn(email, PASSWORD);
    assert.equal(await laptop.endAllSessions(), 2);
    assert.equal(await laptop.getToken(), null);
    const error = await rejectsWith(phone.whoami(), 401, 'session_revoked');
    assert.equal(error.reason, 'signed_out_all_devices');
    assert.equal(error.message, 'You signed out of all devices.');
    await rejectsWith(laptop.whoami(), 401, 'unauthenticated');
  });

  it('signs out: the session ends on the server and the token is forgotten; signing out again is no error', async () => {
    const { client: laptop } = await signedIn('out');
    const token = await laptop.getToken();
    await laptop.signOut();
    assert.equal(await laptop.getToken(), null);
    const after = await tessera.call('GET', '/v1/auth/session', { token });
    assert.equal(after.status, 401);
    assert.equal(after.body.reason, 'signed_out');
    await laptop.signOut();
  });

  it('changes the password: wrong and weak passwords are refused with their codes, the other sessions end', async () => {
    const { email, client: laptop } = await signedIn('pw');
    const phone = client();
    await phone.signIn(email, PASSWORD);
    await rejectsWith(laptop.changePassword('not-the-password', 'a-much-better-password-9'), 400, 'wrong_password');
    const weak = await rejectsWith(laptop.changePassword(PASSWORD, 'password'), 400, 'weak_password');
    assert.ok(weak.message.length > 0);
    await laptop.changePassword(PASSWORD, 'a-much-better-password-9');
    const error = await rejectsWith(phone.whoami(), 401, 'session_revoked');
    assert.equal(error.reason, 'password_changed');
    assert.equal(error.message, 'Your password was changed, so this session was ended. Please sign in again.');
    assert.ok((await laptop.whoami()).session.isCurrent);
    await rejectsWith(client().signIn(email, PASSWORD), 401, 'invalid_credentials');
  });

  it('asks for a password reset (the same answer for an unknown email) and resets with the token', async () => {
    const { email, client: laptop } = await signedIn('reset');
    const c = client();
    await c.requestPasswordReset(email);
    await c.requestPasswordReset(newEmail('nobody'));
    await rejectsWith(c.requestPasswordReset(`${'x'.repeat(250)}@example.com`), 400, 'validation_failed');
    await rejectsWith(c.resetPassword('not-a-token', 'another-fine-password-7'), 400, 'invalid_reset_token');

    const token = await until(() => tessera.resetToken(email), 'the reset message');
    await c.resetPassword(token, 'another-fine-password-7');
    const error = await rejectsWith(laptop.whoami(), 401, 'session_revoked');
    assert.equal(error.reason, 'password_reset');
    await c.signIn(email, 'another-fine-password-7');
  });

  it('refuses a sign-in with the server\'s code and sentence, and keeps what it had', async () => {
    const email = newEmail('refused');
    const userId = await tessera.register(email);
    const store = new MemoryTokenStore();
    store.set('kept');
    const c = client({ tokenStore: store });
    const wrong = await rejectsWith(c.signIn(email, 'wrong-password'), 401, 'invalid_credentials');
    assert.ok(wrong.message.length > 0 && wrong.message !== 'Not signed in.');
    assert.equal(store.get(), 'kept');
    await rejectsWith(c.signIn(email, PASSWORD, { platform: 'toaster' }), 400, 'validation_failed');

    await tessera.admin_('POST', `/v1/admin/users/${userId}/deactivate`, {});
    const deactivated = await rejectsWith(c.signIn(email, PASSWORD), 403, 'account_deactivated');
    assert.ok(deactivated.message.length > 0);
    await tessera.admin_('POST', `/v1/admin/users/${userId}/reactivate`);

    const until_ = new Date(Date.now() + 3 * 86400000).toISOString();
    await tessera.admin_('POST', `/v1/admin/users/${userId}/ban`, { until: until_ });
    const banned = await rejectsWith(c.signIn(email, PASSWORD), 403, 'account_banned');
    assert.equal(new Date(banned.bannedUntil).getTime(), new Date(until_).getTime());
    assert.match(banned.message, /banned/);

    await tessera.admin_('POST', `/v1/admin/users/${userId}/ban`, {});
    const forever = await rejectsWith(c.signIn(email, PASSWORD), 403, 'account_banned');
    assert.equal(forever.bannedUntil, null);
  });

  it('tells a session of a banned, deactivated or deleted user by its code, and forgets the token', async () => {
    const cases = [
      ['ban', { until: new Date(Date.now() + 86400000).toISOString() }, 'account_banned', 'user_banned'],
      ['deactivate', {}, 'account_deactivated', 'user_deactivated'],
      ['delete', null, 'account_deleted', 'user_deleted'],
    ];
    for (const [action, body, code, reason] of cases) {
      const { userId, client: c } = await signedIn(action);
      if (action === 'delete') await tessera.admin_('DELETE', `/v1/admin/users/${userId}`);
      else await tessera.admin_('POST', `/v1/admin/users/${userId}/${action}`, body);
      const error = await rejectsWith(c.listSessions(), 401, code);
      assert.equal(error.reason, reason);
      assert.equal(error.sessionEnded, true);
      if (code === 'account_banned') assert.ok(error.bannedUntil);
      assert.equal(await c.getToken(), null);
    }
  });

  it('registers, and refuses an email that is taken', async () => {
    const email = newEmail('reg');
    const c = client();
    const user = await c.register(email, PASSWORD, 'Reg');
    assert.equal(user.displayName, 'Reg');
    await rejectsWith(c.register(email, PASSWORD), 409, 'email_taken');
    await rejectsWith(c.register(newEmail('weak'), 'password'), 400, 'weak_password');
  });

  it('fails as unavailable, not as signed out, when nothing answers, and keeps the token', async () => {
    const port = await freePort();
    const store = new MemoryTokenStore();
    store.set('A'.repeat(43));
    const c = new TesseraClient({ baseUrl: `http://127.0.0.1:${port}`, tokenStore: store, timeoutMs: 3000 });
    const error = await c.whoami().then(() => null, (e) => e);
    assert.ok(error instanceof TesseraUnavailableError, `got ${error}`);
    assert.equal(store.get(), 'A'.repeat(43));
    await assert.rejects(c.signIn('a@example.com', PASSWORD), TesseraUnavailableError);
  });

  it('keeps the token in a Web Storage with LocalStorageTokenStore', async () => {
    const backing = new Map();
    const storage = {
      getItem: (k) => (backing.has(k) ? backing.get(k) : null),
      setItem: (k, v) => backing.set(k, String(v)),
      removeItem: (k) => backing.delete(k),
    };
    const email = newEmail('ls');
    await tessera.register(email);
    const c = client({ tokenStore: new LocalStorageTokenStore('app.token', storage) });
    await c.signIn(email, PASSWORD);
    assert.match(backing.get('app.token'), /^[A-Za-z0-9_-]{43}$/);
    // Another copy of the app (a reload, another tab) picks the token up from the same storage.
    const again = client({ tokenStore: new LocalStorageTokenStore('app.token', storage) });
    assert.equal((await again.whoami()).user.email, email);
    await again.signOut();
    assert.equal(backing.has('app.token'), false);
  });
});


describe('TesseraClient against a strict server', { timeout: 300000 }, () => {
  let tessera;
  before(async () => {
    // Sessions end after 2 idle seconds; one reset request per email per hour.
    tessera = new TesseraProcess(['--Tessera:Sessions:IdleTimeout=00:00:02', '--Tessera:RateLimiting:ResetRequestsPerEmailPerHour=1']);
    await tessera.start();
  });
  after(async () => { await tessera?.dispose(); });

  it('says rate_limited with how long to wait', async () => {
    const c = new TesseraClient({ baseUrl: tessera.baseUrl });
    const email = newEmail('limited');
    await c.requestPasswordReset(email);
    const error = await c.requestPasswordReset(email).then(() => null, (e) => e);
    assert.ok(error instanceof TesseraApiError, `got ${error}`);
    assert.equal(error.status, 429);
    assert.equal(error.code, 'rate_limited');
    assert.ok(error.retryAfter >= 1);
    assert.equal(error.sessionEnded, false);
  });

  it('says session_expired for a session left idle, and forgets the token', async () => {
    const email = newEmail('idle');
    const userId = await tessera.register(email);
    const store = new MemoryTokenStore();
    const c = new TesseraClient({ baseUrl: tessera.baseUrl, tokenStore: store });
    await c.signIn(email, PASSWORD);
    // Watched through the admin's list (the user's own calls would keep the session alive).
    await until(async () => (await tessera.admin_('GET', `/v1/admin/users/${userId}/sessions`)).sessions.length === 0, 'the session to expire');
    const error = await c.whoami().then(() => null, (e) => e);
    assert.ok(error instanceof TesseraApiError, `got ${error}`);
    assert.equal(error.status, 401);
    assert.equal(error.code, 'session_expired');
    assert.equal(error.endReason, 'session_expired');
    assert.equal(error.message, 'Your session has expired. Please sign in again.');
    assert.equal(store.get(), null);
  });
});

async function until(condition, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
