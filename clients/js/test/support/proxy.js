// A TCP proxy on a loopback port in front of Tessera: cut() resets every connection and refuses new ones (the network is
// gone, the server is fine), restore() lets them through again on the same port.
import { createServer, connect } from 'node:net';

export class TcpProxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.port = 0;
    this.sockets = new Set();
    this.server = null;
  }

  get baseUrl() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = server.address().port;
    this.server = server;
  }

  /** Resets every open connection and stops listening (connections are refused). */
  async cut() {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise((r) => server.close(r)) : Promise.resolve();
    for (const socket of this.sockets) socket.resetAndDestroy ? socket.resetAndDestroy() : socket.destroy();
    this.sockets.clear();
    await closed;
  }

  async restore() { await this.start(); }

  async dispose() { await this.cut(); }
}
