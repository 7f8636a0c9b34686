// A real Tessera server process for the tests: `dotnet Tessera.Server.dll` (the Release build of this repository, or
// TESSERA_SERVER_DLL) on a free loopback port, with a temporary data directory, a bootstrap admin and the suites' raised
// rate limits. The tests build nothing: test.sh (or you) builds first.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const serverDll = process.env.TESSERA_SERVER_DLL ?? join(root, 'src/Tessera.Server/bin/Release/net10.0/Tessera.Server.dll');

export const ADMIN_EMAIL = 'admin@tessera.test';
export const ADMIN_PASSWORD = 'admin-password-1';
export const PASSWORD = 'correct-horse-1';

/** A free loopback port (the OS picks it; it is free again once this returns). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/** Waits for a condition, checking every 25 ms, up to a deadline; fails with what it waited for. */
export async function until(condition, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export class TesseraProcess {
  /** @param {string[]} [settings] more settings, as `--Key=value` arguments (they win over the ones below) */
  constructor(settings = []) {
    this.settings = settings;
    if (!existsSync(serverDll)) {
      throw new Error(`${serverDll} is missing: build first (dotnet build Tessera.slnx -c Release), or set TESSERA_SERVER_DLL.`);
    }
    this.dataDirectory = mkdtempSync(join(tmpdir(), 'tessera-js-'));
    this.port = 0;
    this.child = null;
    this.log = '';
  }

  get baseUrl() { return `http://127.0.0.1:${this.port}`; }

  /** Starts the server (again, on the same port and data, after stop()). */
  async start() {
    if (!this.port) this.port = await freePort();
    const child = spawn('dotnet', [
      serverDll,
      '--urls', this.baseUrl,
      `--Tessera:DataDirectory=${join(this.dataDirectory, 'data')}`,
      `--Tessera:Bootstrap:AdminEmail=${ADMIN_EMAIL}`,
      `--Tessera:Bootstrap:AdminPassword=${ADMIN_PASSWORD}`,
      '--Tessera:Passwords:HashIterations=1000',
      '--Tessera:RateLimiting:LoginPerIpPerMinute=100000',
      '--Tessera:RateLimiting:FailedLoginsBeforeBackoff=1000',
      '--Tessera:RateLimiting:RegistrationsPerIpPerHour=100000',
      '--Tessera:RateLimiting:RegistrationsPerEmailPerHour=100000',
      '--Tessera:RateLimiting:PasswordChangesPerIpPerMinute=100000',
      '--Tessera:RateLimiting:ResetRequestsPerIpPerHour=100000',
      '--Logging:LogLevel:Default=Warning',
      ...this.settings,
    ], { cwd: this.dataDirectory, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOTNET_NOLOGO: '1' } });
    this.child = child;
    // A test run that dies leaves no server behind.
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.removeListener('exit', orphan));
    const keep = (chunk) => { this.log = (this.log + chunk).slice(-20000); };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    let exited = false;
    child.once('exit', () => { exited = true; });
    await until(async () => {
      if (exited) throw new Error(`Tessera exited during start-up:\n${this.log}`);
      try {
        const response = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        return response.ok;
      } catch {
        return false;
      }
    }, `Tessera to answer at ${this.baseUrl}/healthz`, 60000);
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and waits for its end. */
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await ended;
    clearTimeout(timer);
  }

  async dispose() {
    await this.stop();
    rmSync(this.dataDirectory, { recursive: true, force: true });
  }

  /** The newest reset link sent to email, from the server's outbox folder. */
  resetToken(email) {
    const outbox = join(this.dataDirectory, 'data', 'outbox');
    const files = existsSync(outbox) ? readdirSync(outbox).sort().reverse() : [];
    for (const file of files) {
      const lines = readFileSync(join(outbox, file), 'utf8').split(/\r?\n/).map((l) => l.trim());
      if (lines.some((l) => l.toLowerCase() === `to: ${email}`)) {
        const link = lines.find((l) => l.startsWith('/reset-password?token='));
        if (link) return decodeURIComponent(link.slice('/reset-password?token='.length));
      }
    }
    return null;
  }

  // ---- plain HTTP for setting up what a test is not about ----------------------------------------------------------

  async call(method, path, { token, body } = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async register(email, password = PASSWORD, displayName) {
    const answer = await this.call('POST', '/v1/auth/register', { body: { email, password, displayName } });
    if (answer.status !== 201) throw new Error(`Registering ${email}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.user.id;
  }

  async login(email, password = PASSWORD, device = { name: 'Test device', platform: 'api' }) {
    const answer = await this.call('POST', '/v1/auth/login', { body: { email, password, device } });
    if (answer.status !== 200) throw new Error(`Signing in ${email}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.token;
  }

  async adminToken() {
    this.admin ??= await this.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    return this.admin;
  }

  /** An admin call that must succeed. */
  async admin_(method, path, body) {
    const answer = await this.call(method, path, { token: await this.adminToken(), body });
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
}

let counter = 0;
/** An email no other test uses. */
export function newEmail(who) {
  counter += 1;
  return `${who}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}
