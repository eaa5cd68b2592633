// The `cap` package (libpcap binding) ships no types; this is the part tandem uses.
declare module 'cap' {
  import { EventEmitter } from 'node:events';
  export class Cap extends EventEmitter {
    open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
    setMinBytes?(n: number): void;
    close(): void;
    on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
    static findDevice(ip?: string): string | undefined;
    static deviceList(): { name: string; addresses: { addr: string }[] }[];
  }
}
