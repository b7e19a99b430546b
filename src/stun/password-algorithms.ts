/**
 * PASSWORD-ALGORITHMS (RFC 8489 §14.11) and PASSWORD-ALGORITHM (§14.12): each entry is a
 * 16-bit algorithm, a 16-bit parameters length, then the parameters padded to 4 bytes.
 */

/** §18.5: the registry's initial algorithms (0x0000 is reserved). */
export const PasswordAlgorithm = { MD5: 0x0001, SHA256: 0x0002 } as const;

export interface PasswordAlgorithmEntry {
  algorithm: number;
  /** Absent when empty, as for MD5 and SHA-256 (§18.5.1); a view into the input when decoded. */
  params?: Buffer;
}

const pad4 = (n: number): number => (n + 3) & ~3;

function encodeEntry(entry: PasswordAlgorithmEntry, out: Buffer, off: number): number {
  const params = entry.params ?? Buffer.alloc(0);
  out.writeUInt16BE(entry.algorithm, off);
  out.writeUInt16BE(params.length, off + 2);
  params.copy(out, off + 4);
  return off + 4 + pad4(params.length);
}

function entrySize(entry: PasswordAlgorithmEntry): number {
  const n = entry.params?.length ?? 0;
  if (!Number.isInteger(entry.algorithm) || entry.algorithm < 0 || entry.algorithm > 0xffff)
    throw new RangeError(`not a password algorithm: ${entry.algorithm}`);
  if (n > 0xffff) throw new RangeError('password algorithm parameters over 65535 bytes');
  return 4 + pad4(n);
}

/** The entry at `off`, or undefined when it runs past the value. Padding bytes are ignored (§14.12). */
function decodeEntry(value: Buffer, off: number): { entry: PasswordAlgorithmEntry; next: number } | undefined {
  if (off + 4 > value.length) return undefined;
  const algorithm = value.readUInt16BE(off);
  const n = value.readUInt16BE(off + 2);
  const next = off + 4 + pad4(n);
  if (next > value.length) return undefined;
  return { entry: n === 0 ? { algorithm } : { algorithm, params: value.subarray(off + 4, off + 4 + n) }, next };
}

export function encodePasswordAlgorithms(list: PasswordAlgorithmEntry[]): Buffer {
  const out = Buffer.alloc(list.reduce((sum, e) => sum + entrySize(e), 0));
  let off = 0;
  for (const e of list) off = encodeEntry(e, out, off);
  return out;
}

/** undefined when empty, truncated or with bytes left over; never throws. */
export function decodePasswordAlgorithms(value: Buffer): PasswordAlgorithmEntry[] | undefined {
  if (value.length === 0) return undefined;
  const list: PasswordAlgorithmEntry[] = [];
  for (let off = 0; off < value.length;) {
    const r = decodeEntry(value, off);
    if (!r) return undefined;
    list.push(r.entry);
    off = r.next;
  }
  return list;
}

export function encodePasswordAlgorithm(entry: PasswordAlgorithmEntry): Buffer {
  const out = Buffer.alloc(entrySize(entry));
  encodeEntry(entry, out, 0);
  return out;
}

/** undefined unless the value is exactly one padded entry; never throws. */
export function decodePasswordAlgorithm(value: Buffer): PasswordAlgorithmEntry | undefined {
  const r = decodeEntry(value, 0);
  return r && r.next === value.length ? r.entry : undefined;
}
