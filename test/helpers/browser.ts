/**
 * Chromium (through playwright-core) where an administrator's browser would be: on the management network, the
 * client's namespace of the lab, trusting exactly the nodes' own certificates (their SPKI pins), as a browser told
 * the fingerprints does. Screenshots go to .test-output/NAME/ in the checkout, kept after the run.
 */
import type { ExecutionContext } from 'ava';
import { createHash, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { LabCluster } from '../../src/lab/cluster.js';
import type { Lab } from '../../src/lab/lab.js';
import { tool } from '../../src/lab/run.js';
import { until } from './lab.js';

export function spkiPin(certFile: string): string {
  return createHash('sha256')
    .update(new X509Certificate(readFileSync(certFile)).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
}

/** The certificate a node made at its first start (waits for it). */
export async function nodeCertificate(t: ExecutionContext, cluster: LabCluster, node: string): Promise<string> {
  const file = join(cluster.dir, `${node}-state`, 'https', 'cert.pem');
  t.true(await until(async () => existsSync(file), 10_000), `${node} made its certificate at start`);
  return file;
}

export async function labBrowser(t: ExecutionContext, lab: Lab, dir: string, certFiles: string[]): Promise<Browser> {
  const client = lab.plan.hosts.find((h) => h.name === 'client')!;
  const wrapper = join(dir, 'chromium-in-lab');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${tool('ip')} netns exec ${client.netns} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--ignore-certificate-errors-spki-list=${certFiles.map(spkiPin).join(',')}`],
    timeout: 30_000,
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Saves a screenshot of the page as .test-output/SUITE/NN-NAME.png; returns its path. */
export function screenshots(suite: string): (page: Page, name: string) => Promise<string> {
  const dir = join(__dirname, '..', '..', '..', '.test-output', suite);
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (page, name) => {
    const file = join(dir, `${String(++n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}

/** Logs in on the console's form at `base` (https://ADDRESS). */
export async function logIn(page: Page, base: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('#f-password', password);
  await Promise.all([page.waitForURL(`${base}/cluster`), page.click('button[type=submit]')]);
}
