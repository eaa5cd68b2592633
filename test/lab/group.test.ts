import test from 'ava';
import { askControl } from '../../src/api/control-socket.js';
import { until } from '../helpers/lab.js';
import { managedGroup } from '../helpers/group.js';

test.serial('three members on Corosync: formed with tandem cluster, all serve, one write is everywhere', async (t) => {
  const g = await managedGroup(t, 3);
  for (const i of [1, 2, 3]) t.true(await g.serving(i), `n${i} serves`);
  await askControl(g.sock(2), { cmd: 'store-set', store: 'sessions', key: 'user1', value: { cookie: 'abc' } });
  t.true(await until(async () => {
    for (const i of [1, 2, 3]) {
      const s = await g.status(i);
      if (s?.group.stores.sessions !== 1) return false;
    }
    return true;
  }, 5000), 'the session is on every member');
  const s = await g.status(3);
  t.log(JSON.stringify(s?.group.corosync), s?.healthCheck.text);
});
