/**
 * Two Routers in one process joined by a pair of PipeTransports on 127.0.0.1 (optionally
 * through a relay that drops chosen datagrams): router A has a publisher over an in-memory
 * transport, router B subscribers over in-memory transports, and between them the real pipe
 * (UDP, SRTP). Also RTP builders for audio and VP8 test packets.
 */
import { writeRtpHeader, type RtpHeaderExtensionEntry } from '../../src/rtc/rtp/index.js';
import type { PipeConsumer } from '../../src/sfu/pipe/PipeConsumer.js';
import type { Producer } from '../../src/sfu/Producer.js';
import type { Router } from '../../src/sfu/Router.js';
import type { SfuTransport } from '../../src/sfu/SfuTransport.js';
import type { CodecParameters } from '../../src/sfu/types.js';
import { routerInMemory, type MemoryTransport } from './media-core.js';
import { openPipePair, type PipePair } from './pipe-pair.js';

export const OPUS: CodecParameters = { name: 'opus', payloadType: 111, clockRate: 48_000, channels: 2, fmtp: '', rtcpFeedback: [] };
export const VP8: CodecParameters = {
  name: 'VP8',
  payloadType: 96,
  clockRate: 90_000,
  fmtp: '',
  rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
};

export interface PipedRouters {
  a: Router<MemoryTransport>;
  b: Router<MemoryTransport>;
  pair: PipePair;
  /** A's and B's transports over the pipe. */
  pipeA: SfuTransport;
  pipeB: SfuTransport;
  /** A's publisher transport (deliverRtp plays the publisher; rtcp holds its feedback). */
  pub: SfuTransport<MemoryTransport>;
  close(): void;
}

export async function pipedRouters(opts: { relay?: boolean; silenceTimeoutMs?: number } = {}): Promise<PipedRouters> {
  const a = routerInMemory();
  const b = routerInMemory();
  const pair = await openPipePair(opts);
  const pipeA = a.createPipeTransport('pipe:to-b', pair.a);
  const pipeB = b.createPipeTransport('pipe:to-a', pair.b);
  const pub = a.createTransport('alice/publish');
  return {
    a,
    b,
    pair,
    pipeA,
    pipeB,
    pub,
    close: () => {
      a.close();
      b.close();
      pair.close();
    },
  };
}

/**
 * Pipes `producer` (on A) to B the way a caller would: its parameters through JSON (the control
 * channel), B's layer demand fed back to the pipe consumer.
 */
export function pipeAcross(r: PipedRouters, producer: Producer): { pipe: PipeConsumer; far: Producer } {
  const pipe = r.a.pipeProducer(producer, r.pipeA);
  const wire = JSON.stringify(pipe.parameters());
  const far = r.b.producePiped(JSON.parse(wire), r.pipeB, {
    onDemand: (needed) => pipe.setDemand(JSON.parse(JSON.stringify(needed)) as boolean[]),
  });
  return { pipe, far };
}

export function rtpPacket(
  ssrc: number,
  pt: number,
  seq: number,
  ts: number,
  payload: Buffer,
  marker = true,
  extensions: readonly RtpHeaderExtensionEntry[] = [],
): Buffer {
  const out = Buffer.alloc(12 + 4 + extensions.length * 8 + payload.length);
  const h = writeRtpHeader(out, 0, { marker, payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc }, extensions);
  payload.copy(out, h);
  return out.subarray(0, h + payload.length);
}

/**
 * A one-packet VP8 frame (RFC 7741 §4.2 descriptor without extensions, S=1): a keyframe of
 * `width` × `height`, or a delta frame; `tag` ends the payload so tests can tell packets apart.
 */
export function vp8Payload(keyframe: boolean, tag: number, width = 320, height = 180): Buffer {
  const frame = keyframe
    ? [0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8, 0, 0]
    : [0x10, 0x01, 0x00, 0x00, 0, 0, 0, 0];
  const tagBytes = Buffer.alloc(4);
  tagBytes.writeUInt32BE(tag >>> 0);
  return Buffer.concat([Buffer.from(frame), tagBytes]);
}

/** The tag `vp8Payload` put at the end of a packet's payload. */
export function tagOf(packet: Buffer): number {
  return packet.readUInt32BE(packet.length - 4);
}
