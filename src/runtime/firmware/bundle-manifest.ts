/**
 * An update bundle's manifest (src/image/bundle.ts writes it, bundle-check.ts reads it): what the bundle is for.
 * Pure: the checks a bundle must pass before anything is written, each refusal naming the field and both values.
 */
export const MANIFEST_FORMAT = 1;

export interface BundleManifest {
  format: number;
  product: string;
  /** The firmware version (the image's IMAGE_VERSION, the slot label tandem_VERSION). */
  version: string;
  architecture: string;
  board: string;
  /** What a box accepts: bundles for its board (a builder may give several boards one compatible string). */
  compatible: string;
}

export function compatibleFor(board: string): string {
  return `tandem-${board}`;
}

/** What the running box is. */
export interface ThisBox {
  version: string;
  architecture: string;
  compatible: string;
}

export function parseManifest(text: string, where: string): BundleManifest {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: not an object`);
  const o = v as Record<string, unknown>;
  if (o['format'] !== MANIFEST_FORMAT) throw new Error(`${where}: format ${JSON.stringify(o['format'])}, this firmware reads format ${MANIFEST_FORMAT}`);
  for (const f of ['product', 'version', 'architecture', 'board', 'compatible'] as const)
    if (typeof o[f] !== 'string' || o[f] === '') throw new Error(`${where}: "${f}" missing or not a string`);
  if (!/^[0-9][0-9a-z.~^]*$/i.test(o['version'] as string)) throw new Error(`${where}: version ${JSON.stringify(o['version'])} is not a firmware version`);
  return o as unknown as BundleManifest;
}

/**
 * systemd's version order (strverscmp_improved, the one systemd-boot and systemd-sysupdate sort by), for the
 * characters a firmware version may hold: runs of digits compare as numbers, '~' sorts before anything (the end too),
 * '^' after the end but before anything else.
 */
export function compareVersions(a: string, b: string): number {
  let i = 0;
  let j = 0;
  for (;;) {
    const ca = a[i];
    const cb = b[j];
    if (ca === '~' || cb === '~') {
      if (ca !== cb) return ca === '~' ? -1 : 1;
      (i++, j++);
      continue;
    }
    // '^' sorts after the end of the other version but before anything else in it.
    if (ca === '^' || cb === '^') {
      if (ca !== cb) return ca === '^' ? (cb === undefined ? 1 : -1) : ca === undefined ? -1 : 1;
      (i++, j++);
      continue;
    }
    if (ca === undefined || cb === undefined) {
      if (ca === cb) return 0;
      return ca === undefined ? -1 : 1;
    }
    const da = /[0-9]/.test(ca);
    const db = /[0-9]/.test(cb);
    if (da && db) {
      let ei = i;
      let ej = j;
      while (ei < a.length && /[0-9]/.test(a[ei]!)) ei++;
      while (ej < b.length && /[0-9]/.test(b[ej]!)) ej++;
      const na = a.slice(i, ei).replace(/^0+(?=.)/, '');
      const nb = b.slice(j, ej).replace(/^0+(?=.)/, '');
      if (na.length !== nb.length) return na.length < nb.length ? -1 : 1;
      if (na !== nb) return na < nb ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) {
      // A number sorts after anything else; otherwise character order.
      if (da !== db) return da ? 1 : -1;
      return ca < cb ? -1 : 1;
    }
    (i++, j++);
  }
}

/** Why this box refuses a bundle, or null: each reason names the field, the bundle's value and the box's. */
export function refusal(m: BundleManifest, box: ThisBox): string | null {
  if (m.product !== 'tandem') return `product "${m.product}": this box runs tandem`;
  if (m.architecture !== box.architecture) return `architecture ${m.architecture}: this box is ${box.architecture}`;
  if (m.compatible !== box.compatible) return `for ${m.compatible} (board ${m.board}): this box is ${box.compatible}`;
  if (compareVersions(m.version, box.version) <= 0) return `version ${m.version} is not newer than the running ${box.version}`;
  return null;
}
