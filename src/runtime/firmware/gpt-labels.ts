/**
 * The partition names of a GPT disk as they are on the disk now. The kernel's view (sysfs PARTNAME) is the table
 * as it was read at boot: systemd-sysupdate relabels the slot it writes (_empty -> tandem_VERSION) on a disk in
 * use, which the kernel does not read again until the next boot. Read-only: the header at LBA 1 and its entries.
 */
export function gptNames(read: (offset: number, length: number) => Buffer, sectorSize: number): Map<number, string> {
  const header = read(sectorSize, 92);
  if (header.toString('latin1', 0, 8) !== 'EFI PART') throw new Error('no GPT header at LBA 1');
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const size = header.readUInt32LE(84);
  if (size < 128 || count > 1024) throw new Error(`a GPT of ${count} entries of ${size} bytes`);
  const table = read(entriesLba * sectorSize, count * size);
  const names = new Map<number, string>();
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * size, (i + 1) * size);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const name = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    names.set(i + 1, name);
  }
  return names;
}
