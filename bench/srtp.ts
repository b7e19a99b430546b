/**
 * SRTP benchmark: protect and unprotect packets/s and µs/packet for 1,200-byte payloads, both
 * profiles, against a reference measured in the same run: one `aes-128-gcm` createCipheriv +
 * setAAD(header) + update(payload) + final + getAuthTag per packet, i.e. the raw cost of Node's
 * crypto with no SRTP framing. Ratio = ours ÷ reference.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/srtp.js [--packets 200000] [--seconds 1]
 *
 * Then the alternatives considered for AES_CM_128_HMAC_SHA1_80's per-packet work, same payload:
 * a fresh aes-128-ctr cipher vs a persistent aes-128-ecb keystream + XOR; createHmac vs
 * Hash.copy() of pre-padded states vs two one-shot crypto.hash calls (what HmacSha1 does).
 *
 * Each measurement stops at --packets or about --seconds (the interleaved profile runs at 3x),
 * whichever comes first, after a warm-up: about 11 s in all at the defaults.
 * Single-threaded, in this process; the figures vary with machine load (2 shared cores here).
 */
import { createCipheriv, createHash, createHmac, hash, randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { SrtpContext, srtpKeyLengths, type SrtpProfileName } from '../src/rtc/srtp/index.js';
import { nonNegative } from './lib/proc.js';

const PAYLOAD = 1200;
const HEADER = 12;
const BATCH = 4096;
const WARMUP = 20_000;

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/bench/srtp.js [--packets N] [--seconds S]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { packets: number; seconds: number } {
  const o = { packets: 200_000, seconds: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--packets') o.packets = Math.floor(nonNegative('packets', argv[++i], usage));
    else if (a === '--seconds') o.seconds = nonNegative('seconds', argv[++i], usage);
    else usage(`unknown option ${a}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const now = (): number => Number(process.hrtime.bigint()) / 1e3; // µs

interface Rate {
  packets: number;
  usPerPacket: number;
  perSecond: number;
}
const rate = (packets: number, us: number): Rate => ({ packets, usPerPacket: us / packets, perSecond: (packets * 1e6) / us });

/** Runs fn(i) up to --packets times or --seconds, checking the clock every 256 calls. */
function measure(fn: (i: number) => void): Rate {
  for (let i = 0; i < WARMUP; i++) fn(i);
  const limit = opts.seconds * 1e6;
  const start = now();
  let i = 0;
  while (i < opts.packets) {
    fn(i++);
    if ((i & 255) === 0 && now() - start > limit) break;
  }
  return rate(i, now() - start);
}

function rtpPacket(seq: number): Buffer {
  const p = randomBytes(HEADER + PAYLOAD);
  p[0] = 0x80;
  p[1] = 111;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(0x1234abcd, 8);
  return p;
}

/**
 * Protect and unprotect rates for one profile, and the reference's, interleaved batch by batch
 * (reference, protect, unprotect) so that load changes on a shared machine hit all three alike.
 */
function measureProfile(profile: SrtpProfileName): { protect: Rate; unprotect: Rate; reference: Rate } {
  const { key, salt } = srtpKeyLengths(profile);
  const keys = { key: randomBytes(key), salt: randomBytes(salt) };
  const plain = Array.from({ length: 64 }, (_, i) => rtpPacket(i));
  const batch = Array.from({ length: BATCH }, () => Buffer.alloc(HEADER + PAYLOAD + 16));
  const lengths = new Int32Array(BATCH);
  // Each batch is a new stream (new sender and receiver, SEQ from 0), so a fresh receiver's
  // ROC 0 always matches; context creation (key derivation) stays outside the timed loops.
  const protectBatch = (): number => {
    // µs spent protecting, including copying the output out
    const sender = new SrtpContext(profile, keys);
    const t = now();
    for (let b = 0; b < BATCH; b++) {
      const p = plain[b & 63]!;
      p.writeUInt16BE(b, 2);
      const out = sender.protectRtp(p);
      lengths[b] = out.copy(batch[b]!);
    }
    return now() - t;
  };
  const unprotectBatch = (): number => {
    const receiver = new SrtpContext(profile, keys);
    const t = now();
    for (let b = 0; b < BATCH; b++) {
      if (receiver.unprotectRtp(batch[b]!.subarray(0, lengths[b])) === null)
        throw new Error(`unprotect failed at ${b}: ${JSON.stringify(receiver.stats)}`);
    }
    return now() - t;
  };
  const referenceBatch = referenceGcm();
  for (let w = 0; w < Math.ceil(WARMUP / BATCH); w++) {
    referenceBatch();
    protectBatch();
    unprotectBatch();
  }
  let packets = 0,
    referenceUs = 0,
    protectUs = 0,
    unprotectUs = 0;
  const limit = 3 * opts.seconds * 1e6;
  while (packets < opts.packets && referenceUs + protectUs + unprotectUs < limit) {
    referenceUs += referenceBatch();
    protectUs += protectBatch();
    unprotectUs += unprotectBatch();
    packets += BATCH;
  }
  return { protect: rate(packets, protectUs), unprotect: rate(packets, unprotectUs), reference: rate(packets, referenceUs) };
}

/** The reference: Node's aes-128-gcm over the same header (AAD) and payload, no SRTP framing. */
function referenceGcm(): () => number {
  const key = randomBytes(16),
    iv = randomBytes(12);
  const packet = rtpPacket(0);
  const header = packet.subarray(0, HEADER),
    payload = packet.subarray(HEADER);
  return () => {
    const t = now();
    for (let b = 0; b < BATCH; b++) {
      iv[11] = b;
      const c = createCipheriv('aes-128-gcm', key, iv);
      c.setAAD(header);
      c.update(payload);
      c.final();
      c.getAuthTag();
    }
    return now() - t;
  };
}

function alternatives(): Array<[string, Rate]> {
  const key = randomBytes(16),
    iv = randomBytes(16),
    authKey = randomBytes(20);
  const data = randomBytes(HEADER + PAYLOAD);
  const out = Buffer.alloc(HEADER + PAYLOAD + 64);
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const blocks = Math.ceil(PAYLOAD / 16);
  const counters = Buffer.alloc(blocks * 16);
  const ipad = Buffer.alloc(64, 0x36),
    opad = Buffer.alloc(64, 0x5c);
  for (let i = 0; i < 20; i++) {
    ipad[i]! ^= authKey[i]!;
    opad[i]! ^= authKey[i]!;
  }
  const inner = createHash('sha1').update(ipad),
    outer = createHash('sha1').update(opad);
  const padded = Buffer.alloc(64 + data.length + 4);
  ipad.copy(padded);
  const outerPadded = Buffer.alloc(84);
  opad.copy(outerPadded);
  return [
    [
      'AES-CM: aes-128-ctr cipher per packet',
      measure((i) => {
        iv[13] = i;
        createCipheriv('aes-128-ctr', key, iv).update(data.subarray(HEADER)).copy(out, HEADER);
      }),
    ],
    [
      'AES-CM: persistent aes-128-ecb + XOR',
      measure((i) => {
        for (let b = 0; b < blocks; b++) {
          iv.copy(counters, b * 16, 0, 14);
          counters[b * 16 + 14] = b >> 8;
          counters[b * 16 + 15] = b;
        }
        counters[13] = i;
        const ks = ecb.update(counters);
        for (let j = 0; j < PAYLOAD; j++) out[HEADER + j] = data[HEADER + j]! ^ ks[j]!;
      }),
    ],
    [
      'HMAC-SHA1: createHmac per packet',
      measure(() => {
        createHmac('sha1', authKey).update(data).update(out.subarray(0, 4)).digest().copy(out, 0, 0, 10);
      }),
    ],
    [
      'HMAC-SHA1: Hash.copy() of padded states',
      measure(() => {
        const d = inner.copy().update(data).update(out.subarray(0, 4)).digest();
        outer.copy().update(d).digest().copy(out, 0, 0, 10);
      }),
    ],
    [
      'HMAC-SHA1: copy + 2 one-shot crypto.hash',
      measure(() => {
        data.copy(padded, 64);
        hash('sha1', padded, 'buffer').copy(outerPadded, 64);
        hash('sha1', outerPadded, 'buffer').copy(out, 0, 0, 10);
      }),
    ],
  ];
}

const fmt = (r: Rate): string =>
  `${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)} pkt/s  ${r.usPerPacket.toFixed(2).padStart(6)} µs/pkt  (${r.packets} pkts)`;

console.log(
  `SRTP bench: ${PAYLOAD}-byte payloads, Node ${process.version}, OpenSSL ${process.versions.openssl}, ` +
    `${cpus()[0]?.model ?? '?'} x${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
for (const profile of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_128_GCM'] as const) {
  const r = measureProfile(profile);
  const ratio = (x: Rate): string => `ratio ${(x.usPerPacket / r.reference.usPerPacket).toFixed(2)}x reference`;
  console.log(`${profile.padEnd(24)} reference ${fmt(r.reference)}  (aes-128-gcm createCipheriv+AAD+encrypt+tag)`);
  console.log(`${profile.padEnd(24)} protect   ${fmt(r.protect)}  ${ratio(r.protect)}`);
  console.log(`${profile.padEnd(24)} unprotect ${fmt(r.unprotect)}  ${ratio(r.unprotect)}`);
}
console.log('alternatives (per packet, same payload):');
for (const [name, r] of alternatives()) console.log(`  ${name.padEnd(42)} ${fmt(r)}`);
