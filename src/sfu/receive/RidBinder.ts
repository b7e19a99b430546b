/**
 * Binds the SSRCs of simulcast layers, which the SDP does not signal (RFC 8853 §5.2), from
 * the header extensions on the first packets of an unknown SSRC: mid (RFC 8843 §15) names the
 * m-section, rtp-stream-id the layer, repaired-rtp-stream-id the layer an RTX stream repairs
 * (RFC 8852 §3). A packet naming an unknown mid or rid, or carrying neither, is not bound: the
 * caller drops it and it is counted here.
 */
import { findHeaderExtension, sdesIdentifierEquals, type RtpHeaderView } from '../../rtc/rtp/index.js';
import type { Producer } from '../Producer.js';
import type { ProducerStream } from '../ProducerStream.js';

export interface RidExtensionIds {
  mid?: number | undefined;
  rid?: number | undefined;
  repairedRid?: number | undefined;
}

export interface StreamRoute {
  producer: Producer;
  stream: ProducerStream;
}

export class RidBinder {
  ids: RidExtensionIds = {};
  /** Packets of unknown SSRCs without a mid or a (repaired-)rid element. */
  unidentified = 0;
  /** Packets naming a mid no simulcast producer has. */
  unknownMid = 0;
  /** Packets naming a rid the producer does not have. */
  unknownRid = 0;
  bound = 0;

  /**
   * The stream of an unknown SSRC's packet among `producers` (simulcast ones), binding the SSRC
   * to it (as its media or RTX SSRC); null when the packet does not identify one.
   */
  bind(packet: Buffer, view: RtpHeaderView, producers: Iterable<Producer>): StreamRoute | null {
    const { mid, rid, repairedRid } = this.ids;
    if (mid === undefined || (rid === undefined && repairedRid === undefined)) {
      this.unidentified++;
      return null;
    }
    const midOff = findHeaderExtension(packet, view, mid);
    const midLen = view.extensionElementLength;
    if (midOff < 0) {
      this.unidentified++;
      return null;
    }
    let producer: Producer | undefined;
    for (const p of producers) {
      if (p.simulcast && !p.closed && sdesIdentifierEquals(packet, midOff, midLen, midBytes(p))) {
        producer = p;
        break;
      }
    }
    if (!producer) {
      this.unknownMid++;
      return null;
    }
    let repaired = false;
    let off = rid === undefined ? -1 : findHeaderExtension(packet, view, rid);
    if (off < 0 && repairedRid !== undefined) {
      off = findHeaderExtension(packet, view, repairedRid);
      repaired = off >= 0;
    }
    if (off < 0) {
      this.unidentified++;
      return null;
    }
    const len = view.extensionElementLength;
    const stream = producer.streams.find((s) => s.rid !== undefined && sdesIdentifierEquals(packet, off, len, ridBytes(s)));
    if (!stream) {
      this.unknownRid++;
      return null;
    }
    if (repaired) stream.rtxSsrc = view.ssrc;
    else stream.bind(view.ssrc);
    this.bound++;
    return { producer, stream };
  }
}

// The identifiers as bytes, made once per producer / stream (binding happens once per SSRC).
const midCache = new WeakMap<Producer, Buffer>();
const ridCache = new WeakMap<ProducerStream, Buffer>();
function midBytes(p: Producer): Buffer {
  let b = midCache.get(p);
  if (!b) midCache.set(p, (b = Buffer.from(p.mid, 'latin1')));
  return b;
}
function ridBytes(s: ProducerStream): Buffer {
  let b = ridCache.get(s);
  if (!b) ridCache.set(s, (b = Buffer.from(s.rid ?? '', 'latin1')));
  return b;
}
