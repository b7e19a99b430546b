/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1): a base sequence number and status count, a 24-bit reference time in
 * 64 ms units, packet status chunks (run length, or 1-bit / 2-bit status vectors), then one
 * receive delta per received packet in 250 µs units (1 byte unsigned, or 2 bytes signed).
 */
import { RTCP_HEADER_LENGTH, ensureRoom, writeRtcpHeader } from './header.js';
import { RtcpType, RtpfbFormat, type RtcpTransportFeedback, type TwccPacketStatus } from './types.js';

export const TWCC_DELTA_UNIT_US = 250;
export const TWCC_REFERENCE_UNIT_US = 64_000;
const FIXED_LENGTH = RTCP_HEADER_LENGTH + 16;
const NOT_RECEIVED = 0;
const SMALL_DELTA = 1;
const LARGE_DELTA = 2;
const MAX_RUN_LENGTH = 0x1fff;
const ONE_BIT_SYMBOLS = 14;
const TWO_BIT_SYMBOLS = 7;
const MAX_STATUS_COUNT = 0xffff;

// Scratch for parsing and writing: one feedback at a time, reused (the event loop is single-threaded).
const statuses = new Uint8Array(MAX_STATUS_COUNT + ONE_BIT_SYMBOLS);
const deltaTicks = new Int32Array(MAX_STATUS_COUNT);
const chunks = new Uint16Array(MAX_STATUS_COUNT);

/** A TWCC body; null when chunks or deltas run past `end` or a status is the reserved value 3. */
export function parseTransportFeedback(buf: Buffer, start: number, end: number): RtcpTransportFeedback | null {
  if (start + FIXED_LENGTH > end) return null;
  const baseSeq = buf.readUInt16BE(start + 12);
  const count = buf.readUInt16BE(start + 14);
  const referenceTime = buf.readIntBE(start + 16, 3); // signed, as libwebrtc reads it
  const fbPktCount = buf[start + 19] as number;
  let off = start + FIXED_LENGTH;
  let n = 0;
  while (n < count) {
    if (off + 2 > end) return null;
    const chunk = buf.readUInt16BE(off);
    off += 2;
    if ((chunk & 0x8000) === 0) {
      const status = (chunk >>> 13) & 3;
      const run = Math.min(chunk & MAX_RUN_LENGTH, count - n);
      statuses.fill(status, n, n + run);
      n += run;
    } else if ((chunk & 0x4000) === 0) {
      for (let i = 0; i < ONE_BIT_SYMBOLS; i++) statuses[n + i] = (chunk >>> (13 - i)) & 1;
      n += ONE_BIT_SYMBOLS;
    } else {
      for (let i = 0; i < TWO_BIT_SYMBOLS; i++) statuses[n + i] = (chunk >>> (12 - 2 * i)) & 3;
      n += TWO_BIT_SYMBOLS;
    }
  }
  const packets: TwccPacketStatus[] = [];
  for (let i = 0; i < count; i++) {
    const seq = (baseSeq + i) & 0xffff;
    const status = statuses[i] as number;
    if (status === NOT_RECEIVED) {
      packets.push({ seq, received: false });
    } else if (status === SMALL_DELTA) {
      if (off + 1 > end) return null;
      packets.push({ seq, received: true, deltaUs: (buf[off] as number) * TWCC_DELTA_UNIT_US });
      off += 1;
    } else if (status === LARGE_DELTA) {
      if (off + 2 > end) return null;
      packets.push({ seq, received: true, deltaUs: buf.readInt16BE(off) * TWCC_DELTA_UNIT_US });
      off += 2;
    } else {
      return null; // status 3 is reserved
    }
  }
  return {
    type: 'twcc',
    senderSsrc: buf.readUInt32BE(start + 4),
    mediaSsrc: buf.readUInt32BE(start + 8),
    baseSeq,
    packetStatusCount: count,
    referenceTime,
    fbPktCount,
    packets,
  };
}

/** Absolute receive times (µs in the sender's time base) of a parsed feedback's received packets, in order. */
export function twccArrivalTimesUs(fb: RtcpTransportFeedback): { seq: number; arrivalUs: number }[] {
  let t = fb.referenceTime * TWCC_REFERENCE_UNIT_US;
  const out: { seq: number; arrivalUs: number }[] = [];
  for (const p of fb.packets) {
    if (!p.received || p.deltaUs === undefined) continue;
    t += p.deltaUs;
    out.push({ seq: p.seq, arrivalUs: t });
  }
  return out;
}

/**
 * Packs `statuses[0, count)` into `chunks`; returns the chunk count. A run of one status
 * becomes a run-length chunk when it is 14 or longer (a 1-bit vector cannot do better) or
 * ends the list; otherwise a 1-bit vector when the next 14 are all "not received" / "small
 * delta", else a run-length chunk for 7 or more, else a 2-bit vector. Slots past `count` in
 * the last vector are "not received", which the reader ignores (it stops at the count).
 */
function encodeChunks(count: number): number {
  let c = 0;
  let i = 0;
  while (i < count) {
    const s = statuses[i] as number;
    let run = 1;
    while (i + run < count && statuses[i + run] === s && run < MAX_RUN_LENGTH) run++;
    if (run >= ONE_BIT_SYMBOLS || i + run === count) {
      chunks[c++] = (s << 13) | run;
      i += run;
      continue;
    }
    const n = Math.min(ONE_BIT_SYMBOLS, count - i);
    let oneBit = true;
    for (let k = 0; k < n; k++)
      if ((statuses[i + k] as number) > SMALL_DELTA) {
        oneBit = false;
        break;
      }
    if (oneBit) {
      let chunk = 0x8000;
      for (let k = 0; k < n; k++) chunk |= (statuses[i + k] as number) << (13 - k);
      chunks[c++] = chunk;
      i += n;
    } else if (run >= TWO_BIT_SYMBOLS) {
      chunks[c++] = (s << 13) | run;
      i += run;
    } else {
      const m = Math.min(TWO_BIT_SYMBOLS, count - i);
      let chunk = 0xc000;
      for (let k = 0; k < m; k++) chunk |= (statuses[i + k] as number) << (12 - 2 * k);
      chunks[c++] = chunk;
      i += m;
    }
  }
  return c;
}

interface FeedbackIds {
  senderSsrc: number;
  mediaSsrc: number;
  fbPktCount: number;
}

/** Writes a feedback from `statuses`/`deltaTicks` scratch already filled for `count` slots. */
function writeEncoded(out: Buffer, offset: number, ids: FeedbackIds, baseSeq: number, count: number, referenceTime: number): number {
  const chunkCount = encodeChunks(count);
  let deltaBytes = 0;
  for (let i = 0; i < count; i++) {
    const s = statuses[i] as number;
    if (s === SMALL_DELTA) deltaBytes += 1;
    else if (s === LARGE_DELTA) deltaBytes += 2;
  }
  const unpadded = FIXED_LENGTH + 2 * chunkCount + deltaBytes;
  const length = (unpadded + 3) & ~3;
  ensureRoom(out, offset, length);
  writeRtcpHeader(out, offset, RtpfbFormat.TWCC, RtcpType.RTPFB, length);
  out.writeUInt32BE(ids.senderSsrc >>> 0, offset + 4);
  out.writeUInt32BE(ids.mediaSsrc >>> 0, offset + 8);
  out.writeUInt16BE(baseSeq & 0xffff, offset + 12);
  out.writeUInt16BE(count, offset + 14);
  out.writeIntBE(referenceTime, offset + 16, 3);
  out[offset + 19] = ids.fbPktCount & 0xff;
  let off = offset + FIXED_LENGTH;
  for (let k = 0; k < chunkCount; k++, off += 2) out.writeUInt16BE(chunks[k] as number, off);
  let d = 0;
  for (let i = 0; i < count; i++) {
    const s = statuses[i] as number;
    if (s === SMALL_DELTA) out[off++] = deltaTicks[d++] as number;
    else if (s === LARGE_DELTA) {
      out.writeInt16BE(deltaTicks[d++] as number, off);
      off += 2;
    }
  }
  if (length > unpadded) {
    // Padding with the P bit, its count in the last octet (RFC 3550 §6.4.1), as libwebrtc sends it.
    out.fill(0, off, offset + length);
    out[offset + length - 1] = length - unpadded;
    out[offset] = (out[offset] as number) | 0x20;
  }
  return length;
}

/** Status for a delta in 250 µs ticks; throws when even 16 signed bits cannot hold it. */
function statusFor(ticks: number): number {
  if (ticks >= 0 && ticks <= 0xff) return SMALL_DELTA;
  if (ticks >= -0x8000 && ticks <= 0x7fff) return LARGE_DELTA;
  throw new RangeError(`TWCC delta of ${ticks * TWCC_DELTA_UNIT_US} µs does not fit 16 bits; start a new feedback`);
}

export interface TwccArrival {
  seq: number;
  /** Receive time in µs on the receiver's clock. */
  arrivalUs: number;
}

export interface TwccFeedbackInput extends FeedbackIds {
  /** Received packets, in ascending transport sequence order (wrap-aware), no duplicates. */
  arrivals: readonly TwccArrival[];
  /** How many of `arrivals` to use (default all), so a caller can reuse one array. */
  count?: number;
  /**
   * First sequence number covered, when it precedes the first arrival: the numbers before
   * that arrival are reported "not received" (lost). Default: the first arrival's.
   */
  baseSeq?: number;
}

/**
 * Writes feedback for the received packets in `arrivals`: base = the first sequence number,
 * reference time = its arrival rounded down to 64 ms, each delta taken from the previous
 * *encoded* time so rounding to 250 µs never accumulates. Gaps are "not received".
 */
export function writeTwccFeedback(out: Buffer, offset: number, fb: TwccFeedbackInput): number {
  const n = fb.count ?? fb.arrivals.length;
  const first = fb.arrivals[0];
  if (first === undefined || n < 1 || n > fb.arrivals.length) throw new RangeError('TWCC feedback needs at least one received packet');
  const baseSeq = (fb.baseSeq ?? first.seq) & 0xffff;
  if (((first.seq - baseSeq) & 0xffff) >= 0x8000) throw new RangeError('TWCC base sequence number must not follow the first arrival');
  const last = fb.arrivals[n - 1] as TwccArrival;
  const count = ((last.seq - baseSeq) & 0xffff) + 1;
  if (count > MAX_STATUS_COUNT) throw new RangeError('TWCC feedback covers at most 65535 sequence numbers');
  statuses.fill(NOT_RECEIVED, 0, count);
  const referenceTime = Math.floor(first.arrivalUs / TWCC_REFERENCE_UNIT_US);
  let prevTicks = referenceTime * (TWCC_REFERENCE_UNIT_US / TWCC_DELTA_UNIT_US);
  let prevIndex = -1;
  let d = 0;
  for (let i = 0; i < n; i++) {
    const a = fb.arrivals[i] as TwccArrival;
    const index = (a.seq - baseSeq) & 0xffff;
    if (index <= prevIndex && prevIndex >= 0) throw new RangeError('TWCC arrivals must be in ascending sequence order');
    prevIndex = index;
    const ticks = Math.round(a.arrivalUs / TWCC_DELTA_UNIT_US);
    const delta = ticks - prevTicks;
    statuses[index] = statusFor(delta);
    deltaTicks[d++] = delta;
    prevTicks = ticks;
  }
  // The 24-bit field wraps; the deltas above were taken before wrapping it.
  return writeEncoded(out, offset, fb, baseSeq, count, signed24(referenceTime));
}

function signed24(v: number): number {
  const u = ((v % 0x1000000) + 0x1000000) % 0x1000000;
  return u >= 0x800000 ? u - 0x1000000 : u;
}

/** Writes a feedback given in parsed form (deltas rounded to 250 µs). */
export function writeTransportFeedback(out: Buffer, offset: number, fb: Omit<RtcpTransportFeedback, 'type'>): number {
  const count = fb.packets.length;
  if (count === 0 || count > MAX_STATUS_COUNT) throw new RangeError('TWCC feedback needs 1-65535 packet statuses');
  let d = 0;
  for (let i = 0; i < count; i++) {
    const p = fb.packets[i] as TwccPacketStatus;
    if (!p.received) {
      statuses[i] = NOT_RECEIVED;
      continue;
    }
    const ticks = Math.round((p.deltaUs ?? 0) / TWCC_DELTA_UNIT_US);
    statuses[i] = statusFor(ticks);
    deltaTicks[d++] = ticks;
  }
  return writeEncoded(out, offset, fb, fb.baseSeq, count, signed24(fb.referenceTime));
}
