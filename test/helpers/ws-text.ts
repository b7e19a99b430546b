import type { RawData } from 'ws';

/** The text of a ws message: a Buffer with ws's default binaryType, else an ArrayBuffer or its fragments. */
export function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}
