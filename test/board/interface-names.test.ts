import test from 'ava';
import { execFileSync } from 'node:child_process';
import { resolveBoard } from '../../src/board/board-file.js';
import { nftDefines, sharedLinkName } from '../../src/board/interface-names.js';

test('one define per data NIC naming it and its shared-MAC interface; the sync NIC has none', (t) => {
  const board = resolveBoard('sim');
  const text = nftDefines(board);
  for (const nic of board.nics) {
    const line = `define ${nic.name} = { "${nic.name}", "${sharedLinkName(nic.nn)}" }`;
    if (nic.role === 'sync') t.false(text.includes(`define ${nic.name} `), `${nic.name} carries no shared address`);
    else t.true(text.includes(line), line);
  }
  t.is(sharedLinkName(0x0a), 'tsh0a');
});

test('nftables takes the defines in a stateful ruleset written by interface name (nft --check)', (t) => {
  const board = { ...resolveBoard('sim'), name: 'x' };
  board.nics = board.nics.map((n, i) => (i === 0 ? { ...n, name: 'lan.100' } : n));
  const text = nftDefines(board);
  t.true(text.includes('define lan_100 = { "lan.100", '), 'a name with a dot becomes a valid variable');
  const ruleset = `${text}table ip t {\n  chain f {\n    type filter hook forward priority filter; policy drop;\n    ct state established,related accept\n    iifname $lan_100 oifname $eth1 ct state new accept\n  }\n}\n`;
  t.notThrows(() => execFileSync('nft', ['--check', '-f', '-'], { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] }));
});
