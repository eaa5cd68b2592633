/**
 * DOC: the loads the false-failover ladder runs a cluster under (bench/failover)
 *
 * Each is what a busy appliance does to its HA daemon (seed 001: a firewall
 * busy with CPU-heavy work sends its heartbeats late):
 * - `stress`: stress-ng --cpu 2 (both cores) at nice 0;
 * - `stress-nice-20`: the same at nice -20, above tandemd's own priority;
 * - `chromium`: a headless Chromium (Debian's) loading a heavy page in a loop
 *   (20,000 laid-out elements and a numeric loop per load);
 * - `conntrack-burst`: 100,000 conntrack entries created on the active node
 *   in one burst every 10 s and flushed 5 s later (100k new and 100k destroy
 *   events for its state sync).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Lab } from '../src/lab/lab.js';
import { sleep } from '../src/lab/lab.js';
import { tool } from '../src/lab/run.js';
import { flushKernel, loadEntries, syntheticEntries } from './sync-lab.js';

export const LOADS = ['stress', 'stress-nice-20', 'chromium', 'conntrack-burst'] as const;
export type LoadKind = (typeof LOADS)[number];

export interface Load {
  stop(): Promise<void>;
  /** What the load did (loads completed, bursts written), for the JSON line. */
  done(): Record<string, number>;
}

const HEAVY_PAGE = `<!doctype html><title>heavy</title><body><script>
const b = document.body;
for (let i = 0; i < 20000; i++) { const e = document.createElement('div'); e.textContent = 'row ' + i; e.style.width = (i % 300) + 'px'; b.appendChild(e); }
document.title = String(b.offsetHeight);
let x = 0; for (let i = 0; i < 2e7; i++) x += Math.sqrt(i);
document.title += ' ' + x;
</script></body>`;

function stressNg(seconds: number, nice: number): Load {
  const argv = [tool('stress-ng'), '--cpu', '2', '--timeout', `${seconds + 30}s`, '--quiet'];
  const child: ChildProcess =
    nice === 0 ? spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }) : spawn(tool('nice'), ['-n', String(nice), ...argv], { stdio: 'ignore' });
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
    done: () => ({}),
  };
}

async function browser(): Promise<Load> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-page-'));
  const page = join(dir, 'heavy.html');
  writeFileSync(page, HEAVY_PAGE);
  const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'], timeout: 30_000 });
  const tab = await b.newPage();
  let running = true;
  let loads = 0;
  const loop = (async () => {
    while (running) {
      await tab.goto(`file://${page}`, { timeout: 60_000 }).catch(() => undefined);
      loads++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
    done: () => ({ pageLoads: loads }),
  };
}

function conntrackBurst(lab: Lab, activeNode: () => Promise<string>): Load {
  let running = true;
  let bursts = 0;
  const entries = syntheticEntries(100_000);
  const loop = (async () => {
    while (running) {
      const active = await activeNode();
      const netns = lab.plan.nodes.find((n) => n.name === active)!.netns;
      loadEntries(netns, entries);
      bursts++;
      await sleep(5000);
      await flushKernel(netns);
      await sleep(5000);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      for (const n of lab.plan.nodes) await flushKernel(n.netns);
    },
    done: () => ({ bursts }),
  };
}

/** A cluster the load is aimed at: conntrack bursts go to its active node; the CPU loads are machine-wide. */
export interface LoadTarget {
  lab: Lab;
  active: () => Promise<string>;
}

/** One load for every cluster running side by side: one stress-ng or Chromium for the machine, a burst loop per cluster. */
export async function startLoad(kind: LoadKind, seconds: number, targets: readonly LoadTarget[]): Promise<Load> {
  switch (kind) {
    case 'stress':
      return stressNg(seconds, 0);
    case 'stress-nice-20':
      return stressNg(seconds, -20);
    case 'chromium':
      return browser();
    case 'conntrack-burst': {
      const loops = targets.map((x) => conntrackBurst(x.lab, x.active));
      return {
        async stop() {
          await Promise.all(loops.map((l) => l.stop()));
        },
        done: () => ({ bursts: loops.reduce((n, l) => n + (l.done()['bursts'] ?? 0), 0) }),
      };
    }
  }
}
