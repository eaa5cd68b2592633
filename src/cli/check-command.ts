/**
 * DOC: `tandem check --config FILE`: the pre-flight an administrator runs
 * before starting tandemd (which runs the same check and refuses to start).
 */
import { readFileSync, statSync } from 'node:fs';
import { boardOf } from '../board/board-file.js';
import { clusterSecret } from '../cluster/cluster-key.js';
import { checkConfig, managementAddresses, type CheckResult } from '../cluster/config-check.js';
import { certificatePath, unnamedAddresses } from '../cluster/https-identity.js';
import { loadNode, type Loaded } from '../cluster/config-file.js';
import { str, UsageError, type Parsed } from './args.js';

export const CHECK_USAGE = `tandem check --config FILE [--json]
  Checks a node configuration against its board and seed 001's list of cluster misconfigurations.`;

/**
 * Loads, validates and checks; the board, the password file or the cluster store are read too. Throws on
 * a bad file. A standalone node (managed, no cluster yet) is checked for what it has: board, interfaces.
 */
export function preflight(path: string): { loaded: Loaded; result: CheckResult } {
  const loaded = loadNode(path);
  const board = boardOf(loaded.config);
  if (loaded.kind === 'standalone') {
    const result: CheckResult = { errors: [], warnings: [] };
    const c = loaded.config;
    c.interfaces.forEach((i, k) => {
      if (!board.nics.some((n) => n.name === i.name))
        result.errors.push({
          field: `interfaces[${k}].name`,
          message: `board ${board.name} has no NIC named "${i.name}" (it has ${board.nics.map((n) => n.name).join(', ')})`,
        });
    });
    if (!c.interfaces.some((i) => i.sync && i.address))
      result.warnings.push({ field: 'interfaces', message: "no sync interface with this node's address: the node cannot create or join a cluster" });
    const mgmt = c.management && c.interfaces.find((i) => i.name === c.management!.interface);
    certificateWarning(c.stateDir, mgmt ? [mgmt.address, mgmt.address6].flatMap((a) => (a ? [a.address] : [])) : [], result);
    protocolWarning(c.management, result);
    return { loaded, result };
  }
  const config = loaded.config;
  const result = checkConfig(config, board);
  certificateWarning(config.stateDir, managementAddresses(config), result);
  protocolWarning(config.management, result);
  try {
    clusterSecret(config.cluster);
    const loose = config.cluster.passwordFile === null ? undefined : looseModes(config.cluster.passwordFile);
    if (loose) result.warnings.push({ field: 'cluster.passwordFile', message: loose });
  } catch (e) {
    result.errors.push({ field: config.cluster.managed ? 'cluster store' : 'cluster.passwordFile', message: (e as Error).message });
  }
  return { loaded, result };
}

/**
 * A file from before HTTPS names a port but no protocol: it now gets HTTPS on that port, and a health check that
 * speaks plain HTTP to it fails. Said, with both ways out.
 */
function protocolWarning(m: { port: number; protocolImplied?: boolean; portGiven?: boolean } | null, result: CheckResult): void {
  if (!m?.protocolImplied || !m.portGiven || m.port === 443) return;
  result.warnings.push({
    field: 'management.protocol',
    message: `not set: the management server speaks HTTPS on port ${m.port} (tandem builds before the HTTPS server spoke plain HTTP there, and a load balancer's plain-HTTP health check to this port now fails); set "protocol": "https" to say so, or "http" to keep plain HTTP`,
  });
}

/** The served certificate (installed with --force) does not name a management address: clients that check refuse it. */
function certificateWarning(stateDir: string, addresses: string[], result: CheckResult): void {
  let pem: string;
  try {
    pem = readFileSync(certificatePath(stateDir), 'utf8');
  } catch {
    return; // none yet: tandemd makes one naming its addresses at start
  }
  let unnamed: string[];
  try {
    unnamed = unnamedAddresses(pem, addresses);
  } catch {
    return; // damaged: tandemd replaces a generated one, and refuses to serve an installed one, saying why
  }
  if (unnamed.length)
    result.warnings.push({
      field: 'management',
      message: `the HTTPS certificate ${certificatePath(stateDir)} does not name ${unnamed.join(', ')}: clients that check the name (curl, HAProxy check-ssl verify, browsers) refuse the server there; install one that names them (tandem https install)`,
    });
}

/** What is wrong with a secret file's permissions, if anything: anyone but its owner may read or change it. */
export function looseModes(path: string): string | undefined {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  const who = mode & 0o004 ? 'every user of the system can read' : mode & 0o040 ? 'its group can read' : 'users other than its owner can change';
  return `${path} is mode ${mode.toString(8).padStart(4, '0')}: ${who} the cluster password (it keys the heartbeats and the sync channel); chmod 600 ${path}`;
}

export function formatFindings(file: string, result: CheckResult): string {
  const lines = [
    ...result.errors.map((f) => `${file}: error: ${f.field}: ${f.message}`),
    ...result.warnings.map((f) => `${file}: warning: ${f.field}: ${f.message}`),
  ];
  return lines.join('\n');
}

export function checkCommand(p: Parsed): number {
  const path = str(p, 'config');
  if (!path) throw new UsageError('check needs --config FILE');
  const { result } = preflight(path);
  if (p.options['json'] === true) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const text = formatFindings(path, result);
    if (text) process.stdout.write(text + '\n');
    process.stdout.write(
      result.errors.length === 0
        ? `${path}: OK${result.warnings.length ? ` (${result.warnings.length} warning${result.warnings.length > 1 ? 's' : ''})` : ''}\n`
        : `${path}: ${result.errors.length} error${result.errors.length > 1 ? 's' : ''}\n`,
    );
  }
  return result.errors.length === 0 ? 0 : 1;
}
