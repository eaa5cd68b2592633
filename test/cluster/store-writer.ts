/**
 * A process that writes the cluster store as fast as it can (each write a
 * new generation whose content names its own number), printing every
 * generation once it is durable. The crash test kills it at random.
 */
import { ClusterStore } from '../../src/cluster/store.js';

const store = new ClusterStore(process.argv[2]!);
const padding = 'x'.repeat(200_000); // a large file widens the window a kill can hit
void (async () => {
  for (;;) {
    const next = store.write((s) => ({
      ...s,
      me: `g${s.generation + 1}`,
      key: padding,
      cluster: {
        name: `g${s.generation + 1}`,
        id: 7,
        salt: '0'.repeat(32),
        revision: s.generation + 1,
        members: [],
        shared: {},
        properties: { mode: 'active-passive', sync: true, logSync: true, healthCheckFailsWhileSyncing: true },
      },
    }));
    await store.durable();
    process.stdout.write(`${next.generation}\n`);
  }
})();
