/** (XOR-)address attributes, RFC 8489 §14.1–14.2. Family 0x01 = IPv4, 0x02 = IPv6. */
import { isIPv4, isIPv6 } from 'node:net';
import { MAGIC_COOKIE } from './constants.js';
import { InternalErrorCode, SwitchboardError } from '../protocol/errors.js';

export interface TransportAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** "2001:db8::1" or "::ffff:1.2.3.4" → 16 bytes; undefined when malformed. */
export function ipv6ToBytes(addr: string): Buffer | undefined {
  let a = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const p = (v4[1] as string).split('.').map(Number);
    a =
      a.slice(0, -(v4[1] as string).length) +
      `${(((p[0] as number) << 8) | (p[1] as number)).toString(16)}:${(((p[2] as number) << 8) | (p[3] as number)).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

function bytesToIpv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups (RFC 5952 §4.2.3).
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** XOR-MAPPED/PEER/RELAYED-ADDRESS value → address; undefined when malformed. */
export function decodeXorAddress(value: Buffer, transactionId: Buffer): TransportAddress | undefined {
  if (value.length < 8) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  if (family === 0x01 && value.length === 8) {
    const ip = (value.readUInt32BE(4) ^ MAGIC_COOKIE) >>> 0;
    return { family: 4, port, address: `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}` };
  }
  if (family === 0x02 && value.length === 20 && transactionId.length === 12) {
    const b = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) {
      const key = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : (transactionId[i - 4] as number);
      b[i] = (value[4 + i] as number) ^ key;
    }
    return { family: 6, port, address: bytesToIpv6(b) };
  }
  return undefined;
}

export function encodeXorAddress(addr: { address: string; port: number }, transactionId: Buffer): Buffer {
  if (isIPv4(addr.address)) {
    const out = Buffer.alloc(8);
    out[1] = 0x01;
    out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
    const ip = addr.address.split('.').reduce((n, o) => (n << 8) | Number(o), 0) >>> 0;
    out.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 4);
    return out;
  }
  const bytes = isIPv6(addr.address) ? ipv6ToBytes(addr.address) : undefined;
  if (!bytes) throw new SwitchboardError(InternalErrorCode.InvalidArgument, `not an IP address: ${addr.address}`);
  const out = Buffer.alloc(20);
  out[1] = 0x02;
  out.writeUInt16BE(addr.port ^ (MAGIC_COOKIE >>> 16), 2);
  for (let i = 0; i < 16; i++) {
    const key = i < 4 ? (MAGIC_COOKIE >>> (24 - 8 * i)) & 0xff : (transactionId[i - 4] as number);
    out[4 + i] = (bytes[i] as number) ^ key;
  }
  return out;
}

/** ERROR-CODE (§14.8): class in the hundreds digit, number below it, then a reason phrase. */
export function decodeErrorCode(value: Buffer): { code: number; reason: string } | undefined {
  if (value.length < 4) return undefined;
  const cls = (value[2] as number) & 0x07;
  const num = value[3] as number;
  if (cls < 3 || cls > 6 || num > 99) return undefined;
  return { code: cls * 100 + num, reason: value.subarray(4).toString('utf8') };
}

export function encodeErrorCode(code: number, reason: string): Buffer {
  const r = Buffer.from(reason, 'utf8');
  const out = Buffer.alloc(4 + r.length);
  out[2] = Math.floor(code / 100);
  out[3] = code % 100;
  r.copy(out, 4);
  return out;
}
