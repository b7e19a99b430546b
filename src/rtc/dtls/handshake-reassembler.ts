/**
 * Reassembles fragmented DTLS handshake messages (RFC 6347 §4.2.3) before werift sees them.
 *
 * Chromium's ClientHello (with its post-quantum key share) is ~1.4 KB and comes in two
 * records. werift buffers fragments without looking at message_seq or offsets, so under loss
 * it glued pieces of the first and the retransmitted second ClientHello together and failed
 * the handshake ("dtls cipher suite negotiation failed"). Here fragments are placed by
 * message_seq and offset; a message is handed on, as one unfragmented record, once every byte
 * of it arrived. Only plaintext (epoch 0) records can be read; the rest pass through.
 */
import { CONTENT_HANDSHAKE, HANDSHAKE_HEADER_LENGTH, RECORD_HEADER_LENGTH, type RecordView } from './record-header.js';

/** Largest handshake message we reassemble (a certificate chain of a few KB fits easily). */
const MAX_MESSAGE_LENGTH = 32 * 1024;
/** Messages in progress at once; a flight has at most 5 or so. */
const MAX_PENDING = 8;

interface PendingMessage {
  msgType: number;
  length: number;
  /** Handshake header (as unfragmented) + body, filled as fragments arrive. */
  buffer: Buffer;
  /** Byte ranges of the body received so far, merged, sorted. */
  ranges: Array<[number, number]>;
  minorVersion: number;
  recordSequence: number;
}

export interface ReassemblyStats {
  /** Fragments that did not fit any message (bad lengths, conflicting sizes, too large). */
  badFragments: number;
  /** Messages completed from more than one fragment. */
  reassembled: number;
}

export class HandshakeReassembler {
  readonly stats: ReassemblyStats = { badFragments: 0, reassembled: 0 };
  private readonly pending = new Map<number, PendingMessage>();

  /**
   * One epoch-0 handshake record (`view`, read from `buf`). Returns the records to hand on:
   * the record itself when every message in it is whole, else one record per message it
   * completed (possibly none). Never throws.
   */
  push(buf: Buffer, view: RecordView): Buffer[] {
    if (view.contentType !== CONTENT_HANDSHAKE || view.epoch !== 0)
      return [buf.subarray(view.bodyOffset - RECORD_HEADER_LENGTH, view.bodyOffset + view.bodyLength)];
    const end = view.bodyOffset + view.bodyLength;
    let whole = true;
    for (let at = view.bodyOffset; at < end;) {
      if (end - at < HANDSHAKE_HEADER_LENGTH) {
        this.stats.badFragments++;
        return [];
      }
      const length = buf.readUIntBE(at + 1, 3);
      const offset = buf.readUIntBE(at + 6, 3);
      const fragmentLength = buf.readUIntBE(at + 9, 3);
      if (at + HANDSHAKE_HEADER_LENGTH + fragmentLength > end || offset + fragmentLength > length) {
        this.stats.badFragments++;
        return [];
      }
      if (offset !== 0 || fragmentLength !== length) whole = false;
      at += HANDSHAKE_HEADER_LENGTH + fragmentLength;
    }
    if (whole) return [buf.subarray(view.bodyOffset - RECORD_HEADER_LENGTH, end)];
    const out: Buffer[] = [];
    for (let at = view.bodyOffset; at < end;) {
      const fragmentLength = buf.readUIntBE(at + 9, 3);
      const done = this.add(buf, at, view);
      if (done) out.push(done);
      at += HANDSHAKE_HEADER_LENGTH + fragmentLength;
    }
    return out;
  }

  /** Adds the fragment at `at`; returns the whole message's record once complete. */
  private add(buf: Buffer, at: number, view: RecordView): Buffer | null {
    const msgType = buf[at] as number;
    const length = buf.readUIntBE(at + 1, 3);
    const seq = buf.readUInt16BE(at + 4);
    const offset = buf.readUIntBE(at + 6, 3);
    const fragmentLength = buf.readUIntBE(at + 9, 3);
    if (length > MAX_MESSAGE_LENGTH) {
      this.stats.badFragments++;
      return null;
    }
    let m = this.pending.get(seq);
    if (m && (m.msgType !== msgType || m.length !== length)) {
      // RFC 6347 §4.2.2: a retransmission carries the same message; a different one under the
      // same message_seq is a new handshake (or garbage): start over with it.
      this.pending.delete(seq);
      m = undefined;
    }
    if (!m) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value as number);
      const buffer = Buffer.alloc(HANDSHAKE_HEADER_LENGTH + length);
      buf.copy(buffer, 0, at, at + 6); // msg_type, length, message_seq
      buffer.writeUIntBE(length, 9, 3); // fragment_offset 0 (zeroed), fragment_length = length
      m = { msgType, length, buffer, ranges: [], minorVersion: view.minorVersion, recordSequence: view.sequenceNumber };
      this.pending.set(seq, m);
    }
    const from = at + HANDSHAKE_HEADER_LENGTH;
    buf.copy(m.buffer, HANDSHAKE_HEADER_LENGTH + offset, from, from + fragmentLength);
    m.recordSequence = Math.max(m.recordSequence, view.sequenceNumber);
    addRange(m.ranges, offset, offset + fragmentLength);
    const first = m.ranges[0];
    if (m.ranges.length !== 1 || !first || first[0] !== 0 || first[1] !== length) return null;
    this.pending.delete(seq);
    this.stats.reassembled++;
    const record = Buffer.alloc(RECORD_HEADER_LENGTH + m.buffer.length);
    record[0] = CONTENT_HANDSHAKE;
    record[1] = 254;
    record[2] = m.minorVersion;
    record.writeUIntBE(m.recordSequence, 5, 6); // epoch 0 stays zero
    record.writeUInt16BE(m.buffer.length, 11);
    m.buffer.copy(record, RECORD_HEADER_LENGTH);
    return record;
  }
}

/** Inserts [from, to) into sorted, disjoint `ranges`, merging what touches. */
function addRange(ranges: Array<[number, number]>, from: number, to: number): void {
  if (to <= from) return;
  let i = 0;
  while (i < ranges.length && (ranges[i] as [number, number])[1] < from) i++;
  let start = from;
  let stop = to;
  let j = i;
  while (j < ranges.length && (ranges[j] as [number, number])[0] <= stop) {
    const r = ranges[j] as [number, number];
    start = Math.min(start, r[0]);
    stop = Math.max(stop, r[1]);
    j++;
  }
  ranges.splice(i, j - i, [start, stop]);
}
