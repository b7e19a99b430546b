/**
 * SrtpContext: one direction's SRTP/SRTCP state for one SSRC space (RFC 3711 §3.2): the session
 * keys plus, per SSRC, the rollover counter, highest sequence number and replay windows. State
 * for an SSRC is created by its first packet, and on the receive side only once that packet has
 * authenticated, so forged packets cannot grow the maps.
 */
import { AesCmTransform } from './aes-cm.js';
import { AesGcmTransform } from './aes-gcm.js';
import { deriveSessionKeys, type SrtpSessionKeys } from './kdf.js';
import type { SrtpMasterKeys, SrtpProfileName } from './profiles.js';
import { ReplayWindow } from './replay-window.js';
import { RTCP_HEADER_LENGTH, rtpHeaderLength } from './rtp-header.js';
import type { SrtpTransform } from './transform.js';

const SEQ_MODULUS = 0x10000;
const HALF_SEQ = 0x8000;
const MAX_ROC = 0xffffffff;
const SRTCP_INDEX_MASK = 0x7fffffff;

/** Rollover counter and highest sequence number of one SSRC (s_l in §3.3.1), plus its replay window. */
class RtpStream {
  readonly window = new ReplayWindow();
  constructor(
    public roc: number,
    public highestSeq: number,
  ) {}
}

/**
 * RFC 3711 Appendix A: the packet index i = 2^16·v + SEQ, v the ROC guess from s_l. Negative when
 * the packet predates the stream's first one (v = ROC - 1 with ROC = 0).
 */
export function estimatePacketIndex(roc: number, highestSeq: number, seq: number): number {
  let v = roc;
  if (highestSeq < HALF_SEQ) {
    if (seq - highestSeq > HALF_SEQ) v = roc - 1;
  } else if (highestSeq - HALF_SEQ > seq) {
    v = roc + 1;
  }
  return v * SEQ_MODULUS + seq;
}

export interface SrtpStats {
  authFailures: number;
  replays: number;
  malformed: number;
}

export class SrtpContext {
  readonly stats: SrtpStats = { authFailures: 0, replays: 0, malformed: 0 };
  readonly profile: SrtpProfileName;
  private readonly transform: SrtpTransform;
  private readonly sendStreams = new Map<number, RtpStream>();
  private readonly receiveStreams = new Map<number, RtpStream>();
  private readonly rtcpSendIndex = new Map<number, number>();
  private readonly rtcpReceiveWindows = new Map<number, ReplayWindow>();
  // Most packets in a row come from the same SSRC: skip the Map lookup for it.
  private lastSendSsrc = -1;
  private lastSendStream: RtpStream | undefined;
  private lastReceiveSsrc = -1;
  private lastReceiveStream: RtpStream | undefined;

  /**
   * `keys` is one direction's master key and salt, from which the session keys are derived
   * (RFC 3711 §4.3), or already-derived session keys (as the RFC 7714 §16 vectors give them).
   */
  constructor(profile: SrtpProfileName, keys: SrtpMasterKeys | SrtpSessionKeys) {
    this.profile = profile;
    const sessionKeys = 'rtpKey' in keys ? keys : deriveSessionKeys(profile, keys);
    this.transform = profile === 'AEAD_AES_128_GCM' ? new AesGcmTransform(sessionKeys) : new AesCmTransform(sessionKeys);
  }

  /**
   * Encrypts and authenticates a plain RTP packet (not modified). The result is a view on a
   * scratch buffer of this context, valid only until the next protectRtp call: send or copy it
   * before then. Throws RangeError if `packet` is not a version-2 RTP packet (a caller bug:
   * packets from unprotectRtp always parse).
   */
  protectRtp(packet: Buffer): Buffer {
    const headerLength = rtpHeaderLength(packet, packet.length);
    if (headerLength < 0) {
      this.stats.malformed++;
      throw new RangeError('protectRtp: not an RTP packet');
    }
    const seq = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    let stream = this.lastSendSsrc === ssrc ? this.lastSendStream : this.sendStreams.get(ssrc);
    let roc = 0;
    if (stream === undefined) {
      // §3.3.1: the sender's ROC starts at 0 with the stream's first packet.
      stream = new RtpStream(0, seq);
      this.sendStreams.set(ssrc, stream);
    } else {
      const index = estimatePacketIndex(stream.roc, stream.highestSeq, seq);
      if (index >= 0) {
        roc = Math.floor(index / SEQ_MODULUS);
        if (roc > MAX_ROC) roc = 0; // 2^48 packets: the keys must have been changed long before (§9.2)
        if (index > stream.roc * SEQ_MODULUS + stream.highestSeq) {
          stream.roc = roc;
          stream.highestSeq = seq;
        }
      }
    }
    this.lastSendSsrc = ssrc;
    this.lastSendStream = stream;
    return this.transform.protectRtp(packet, headerLength, ssrc, roc, seq);
  }

  /**
   * Verifies and decrypts an SRTP packet; null (and counted in `stats`) if it is too short, not
   * RTP version 2, fails authentication or is a replay or older than the 64-packet window. The
   * input is consumed: on success it is decrypted in place and the result is a view on it.
   * On failure it is left unmodified.
   */
  unprotectRtp(packet: Buffer): Buffer | null {
    const end = packet.length - this.transform.rtpTagLength;
    const headerLength = rtpHeaderLength(packet, end);
    if (headerLength < 0) {
      this.stats.malformed++;
      return null;
    }
    const seq = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    let stream = this.lastReceiveSsrc === ssrc ? this.lastReceiveStream : this.receiveStreams.get(ssrc);
    let index = seq; // §3.3.1: a new SSRC starts with ROC 0 and s_l = its first SEQ
    if (stream !== undefined) {
      index = estimatePacketIndex(stream.roc, stream.highestSeq, seq);
      if (index < 0 || !stream.window.isFresh(index)) {
        this.stats.replays++;
        return null;
      }
    }
    const roc = Math.floor(index / SEQ_MODULUS);
    if (roc > MAX_ROC) {
      this.stats.malformed++;
      return null;
    }
    const plainLength = this.transform.unprotectRtp(packet, headerLength, ssrc, roc, seq);
    if (plainLength < 0) {
      this.stats.authFailures++;
      return null;
    }
    // §3.3.1: ROC and s_l change only after the packet authenticated.
    if (stream === undefined) {
      stream = new RtpStream(roc, seq);
      this.receiveStreams.set(ssrc, stream);
    } else if (index > stream.window.highest) {
      stream.roc = roc;
      stream.highestSeq = seq;
    }
    stream.window.accept(index);
    this.lastReceiveSsrc = ssrc;
    this.lastReceiveStream = stream;
    return packet.subarray(0, plainLength);
  }

  /**
   * Encrypts and authenticates a plain RTCP (compound) packet with the next SRTCP index of its
   * sender SSRC (§3.4: 0 first, then +1 mod 2^31). The result is a view on a scratch buffer,
   * valid until the next protectRtcp call. Throws RangeError if it is not an RTCP packet.
   */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < RTCP_HEADER_LENGTH || packet[0]! >> 6 !== 2) {
      this.stats.malformed++;
      throw new RangeError('protectRtcp: not an RTCP packet');
    }
    const ssrc = packet.readUInt32BE(4);
    const index = this.rtcpSendIndex.get(ssrc) ?? 0;
    this.rtcpSendIndex.set(ssrc, (index + 1) & SRTCP_INDEX_MASK);
    return this.transform.protectRtcp(packet, ssrc, index);
  }

  /**
   * Verifies and (if its E flag is set) decrypts an SRTCP packet; null and counted on a short or
   * non-version-2 packet, authentication failure or replayed SRTCP index. Decrypts in place;
   * the result is a view on the input.
   */
  unprotectRtcp(packet: Buffer): Buffer | null {
    const transform = this.transform;
    if (packet.length < RTCP_HEADER_LENGTH + transform.rtcpOverhead || packet[0]! >> 6 !== 2) {
      this.stats.malformed++;
      return null;
    }
    const word = packet.readUInt32BE(packet.length - transform.rtcpIndexFromEnd);
    const encrypted = word >>> 31 === 1;
    const index = word & SRTCP_INDEX_MASK;
    const ssrc = packet.readUInt32BE(4);
    let window = this.rtcpReceiveWindows.get(ssrc);
    if (window !== undefined && !window.isFresh(index)) {
      this.stats.replays++;
      return null;
    }
    const plainLength = transform.unprotectRtcp(packet, ssrc, index, encrypted);
    if (plainLength < 0) {
      this.stats.authFailures++;
      return null;
    }
    if (window === undefined) {
      window = new ReplayWindow();
      this.rtcpReceiveWindows.set(ssrc, window);
    }
    window.accept(index);
    return packet.subarray(0, plainLength);
  }
}
