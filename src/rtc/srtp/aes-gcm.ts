/**
 * AEAD_AES_128_GCM (RFC 7714): 12-byte IVs from the salt (§8.1, §9.1), the RTP header or the
 * SRTCP header plus E|index as associated data (§8.2, §9.2), a 16-byte tag. Node cannot re-key a
 * GCM cipher with a new IV, so one cipher per packet is the floor.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SrtpSessionKeys } from './kdf.js';
import { GCM_AUTH_TAG_LENGTH as TAG, SRTCP_INDEX_LENGTH } from './profiles.js';
import { RTCP_HEADER_LENGTH } from './rtp-header.js';
import { SRTCP_E_FLAG, scratchFor, type SrtpTransform } from './transform.js';

const GCM = 'aes-128-gcm';
const IV_LENGTH = 12;

export class AesGcmTransform implements SrtpTransform {
  readonly rtpTagLength = TAG;
  readonly rtcpOverhead = TAG + SRTCP_INDEX_LENGTH;
  readonly rtcpIndexFromEnd = SRTCP_INDEX_LENGTH;

  private readonly iv = Buffer.alloc(IV_LENGTH);
  private readonly rtcpAad = Buffer.alloc(RTCP_HEADER_LENGTH + SRTCP_INDEX_LENGTH);
  private rtpOut: Buffer = Buffer.alloc(2048);
  private rtcpOut: Buffer = Buffer.alloc(256);
  private rtcpAadUnencrypted: Buffer = Buffer.alloc(256);
  private readonly rtpKey: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpKey: Buffer;
  private readonly rtcpSalt: Buffer;

  constructor(keys: SrtpSessionKeys) {
    this.rtpKey = keys.rtpKey;
    this.rtpSalt = keys.rtpSalt;
    this.rtcpKey = keys.rtcpKey;
    this.rtcpSalt = keys.rtcpSalt;
  }

  /** §8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt. */
  private rtpIv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = this.iv,
      s = this.rtpSalt;
    iv[0] = s[0]!;
    iv[1] = s[1]!;
    iv[2] = s[2]! ^ (ssrc >>> 24);
    iv[3] = s[3]! ^ (ssrc >>> 16);
    iv[4] = s[4]! ^ (ssrc >>> 8);
    iv[5] = s[5]! ^ ssrc;
    iv[6] = s[6]! ^ (roc >>> 24);
    iv[7] = s[7]! ^ (roc >>> 16);
    iv[8] = s[8]! ^ (roc >>> 8);
    iv[9] = s[9]! ^ roc;
    iv[10] = s[10]! ^ (seq >>> 8);
    iv[11] = s[11]! ^ seq;
    return iv;
  }

  /** §9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. */
  private rtcpIv(ssrc: number, index: number): Buffer {
    const iv = this.iv,
      s = this.rtcpSalt;
    iv[0] = s[0]!;
    iv[1] = s[1]!;
    iv[2] = s[2]! ^ (ssrc >>> 24);
    iv[3] = s[3]! ^ (ssrc >>> 16);
    iv[4] = s[4]! ^ (ssrc >>> 8);
    iv[5] = s[5]! ^ ssrc;
    iv[6] = s[6]!;
    iv[7] = s[7]!;
    iv[8] = s[8]! ^ (index >>> 24);
    iv[9] = s[9]! ^ (index >>> 16);
    iv[10] = s[10]! ^ (index >>> 8);
    iv[11] = s[11]! ^ index;
    return iv;
  }

  protectRtp(packet: Buffer, headerLength: number, ssrc: number, roc: number, seq: number): Buffer {
    const length = packet.length;
    const out = (this.rtpOut = scratchFor(this.rtpOut, length + TAG));
    const cipher = createCipheriv(GCM, this.rtpKey, this.rtpIv(ssrc, roc, seq));
    cipher.setAAD(packet.subarray(0, headerLength));
    packet.copy(out, 0, 0, headerLength);
    cipher.update(packet.subarray(headerLength)).copy(out, headerLength);
    cipher.final();
    cipher.getAuthTag().copy(out, length);
    return out.subarray(0, length + TAG);
  }

  unprotectRtp(packet: Buffer, headerLength: number, ssrc: number, roc: number, seq: number): number {
    const end = packet.length - TAG;
    const decipher = createDecipheriv(GCM, this.rtpKey, this.rtpIv(ssrc, roc, seq));
    decipher.setAAD(packet.subarray(0, headerLength));
    decipher.setAuthTag(packet.subarray(end));
    const plain = decipher.update(packet.subarray(headerLength, end));
    try {
      decipher.final();
    } catch {
      return -1; // tag mismatch: OpenSSL reports it only by throwing here
    }
    plain.copy(packet, headerLength);
    return end;
  }

  protectRtcp(packet: Buffer, ssrc: number, index: number): Buffer {
    const length = packet.length;
    const out = (this.rtcpOut = scratchFor(this.rtcpOut, length + TAG + SRTCP_INDEX_LENGTH));
    const aad = this.rtcpAad;
    packet.copy(aad, 0, 0, RTCP_HEADER_LENGTH);
    aad.writeUInt32BE((SRTCP_E_FLAG | index) >>> 0, RTCP_HEADER_LENGTH);
    const cipher = createCipheriv(GCM, this.rtcpKey, this.rtcpIv(ssrc, index));
    cipher.setAAD(aad);
    packet.copy(out, 0, 0, RTCP_HEADER_LENGTH);
    cipher.update(packet.subarray(RTCP_HEADER_LENGTH)).copy(out, RTCP_HEADER_LENGTH);
    cipher.final();
    cipher.getAuthTag().copy(out, length);
    aad.copy(out, length + TAG, RTCP_HEADER_LENGTH);
    return out.subarray(0, length + TAG + SRTCP_INDEX_LENGTH);
  }

  unprotectRtcp(packet: Buffer, ssrc: number, index: number, encrypted: boolean): number {
    const trailer = packet.length - SRTCP_INDEX_LENGTH;
    const end = trailer - TAG;
    const decipher = createDecipheriv(GCM, this.rtcpKey, this.rtcpIv(ssrc, index));
    let plain: Buffer | undefined;
    if (encrypted) {
      // §9.2: AAD = the first 8 octets || E|index.
      const aad = this.rtcpAad;
      packet.copy(aad, 0, 0, RTCP_HEADER_LENGTH);
      packet.copy(aad, RTCP_HEADER_LENGTH, trailer);
      decipher.setAAD(aad);
      decipher.setAuthTag(packet.subarray(end, trailer));
      plain = decipher.update(packet.subarray(RTCP_HEADER_LENGTH, end));
    } else {
      // §9.3: unencrypted SRTCP authenticates the whole RTCP packet || E|index.
      const aad = (this.rtcpAadUnencrypted = scratchFor(this.rtcpAadUnencrypted, end + SRTCP_INDEX_LENGTH));
      packet.copy(aad, 0, 0, end);
      packet.copy(aad, end, trailer);
      decipher.setAAD(aad.subarray(0, end + SRTCP_INDEX_LENGTH));
      decipher.setAuthTag(packet.subarray(end, trailer));
    }
    try {
      decipher.final();
    } catch {
      return -1;
    }
    if (plain !== undefined) plain.copy(packet, RTCP_HEADER_LENGTH);
    return end;
  }
}
