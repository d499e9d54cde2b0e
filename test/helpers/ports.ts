// Loopback ports for the servers the integration tests start (Prometheus, etcd, kube-apiserver, Foresight).
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bound then released: another socket may take it before the caller binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs `start` (which picks its ports with freePort) again, up to `attempts` times in all, while it fails with "address
 * already in use": a port found free can be taken before the server binds it, by another test's listener or by an
 * outgoing connection's source port from the same ephemeral range. `start` cleans up after itself when it fails.
 */
export async function retryOnPortTaken<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}
