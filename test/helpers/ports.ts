/**
 * DOC: a TCP port free on every given loopback address, for tests that need one port on several addresses
 * (a random pick can collide with a port in use: tried, and another picked, a bounded number of times).
 */
import { createServer } from 'node:net';

function listens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

export async function freePort(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    let free = true;
    for (const h of hosts) if (!(await listens(h, port))) free = false;
    if (free) return port;
  }
  throw new Error(`no port free on ${hosts.join(', ')} after 50 tries`);
}
