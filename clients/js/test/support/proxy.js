// A TCP proxy on a loopback port in front of Tessera, for network faults while the server is fine:
//   cut()     resets every connection and refuses new ones (the network is gone);
//   stall()   keeps every connection open but passes nothing either way (a dead route, a frozen NAT);
//   restore() lets traffic through again, on the same port.
import { createServer, connect } from 'node:net';

export class TcpProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.port = 0;
    this.sockets = new Set();
    this.pairs = new Set();
    this.server = null;
    this.stalled = false;
  }

  get baseUrl() { return `http://127.0.0.1:${this.port}`; }

  #track(socket) {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  async start() {
    const server = createServer((client) => {
      this.#track(client);
      if (this.stalled) return; // held open, nothing passes
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.#track(upstream);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end);
      upstream.on('close', end);
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = server.address().port;
    this.server = server;
  }

  /** Resets every open connection and stops listening: connections are refused. */
  async cut() {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise((r) => server.close(r)) : Promise.resolve();
    this.#destroyAll();
    await closed;
  }

  /** Every connection, open or new, stays open and silent. */
  stall() {
    this.stalled = true;
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Back to normal: stalled connections are reset (as a route that comes back would find them), new ones pass. */
  async restore() {
    if (this.stalled) {
      this.stalled = false;
      this.#destroyAll();
    }
    if (!this.server) await this.start();
  }

  #destroyAll() {
    for (const socket of this.sockets) {
      if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
      else socket.destroy();
    }
    this.sockets.clear();
    this.pairs.clear();
  }

  async dispose() { await this.cut(); }
}
