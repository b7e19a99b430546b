/**
 * PipeProducerParameters: what the far Router needs to make a Producer for a piped track,
 * carried as plain JSON over the caller's control channel (worker IPC, Redis). The sending side
 * makes it from its producer and pipe consumer (`pipeConsumer.parameters()`); the receiving side
 * checks it field by field (`parsePipeProducerParameters`) before `router.producePiped` uses it:
 * the control channel may cross machines, so a bad field is an error naming it, never a throw
 * from deep inside.
 */
import { SwitchboardError } from '../../protocol/errors.js';
import type { Producer } from '../Producer.js';
import type { CodecParameters, MediaKind, VideoSource } from '../types.js';

/** How the track is layered: its layers are separate streams (simulcast), inside one stream (VP9 SVC), or neither. */
export type PipeLayering = 'none' | 'simulcast' | 'svc';

export interface PipeProducerParameters {
  /** The producer's id (the far producer keeps it: the room knows the track by it). */
  producerId: string;
  kind: MediaKind;
  ownerId: string;
  mid: string;
  codec: CodecParameters;
  layering: PipeLayering;
  /** The pipe SSRC of each spatial stream, lowest first: one unless simulcast. */
  ssrcs: number[];
  source: VideoSource;
  /** Audio: the id of the RFC 6464 level extension the packets carry (unchanged through the pipe). */
  audioLevelExtensionId?: number;
  /** Bit/s of each layer when the origin server encodes them itself (the MCU's tiers). */
  encodedBitrates?: number[];
}

/** The parameters of `producer` piped on `ssrcs`. */
export function pipeProducerParameters(producer: Producer, ssrcs: readonly number[]): PipeProducerParameters {
  const codec = producer.codec;
  const params: PipeProducerParameters = {
    producerId: producer.id,
    kind: producer.kind,
    ownerId: producer.ownerId,
    mid: producer.mid,
    codec: {
      name: codec.name,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
      fmtp: codec.fmtp,
      rtcpFeedback: codec.rtcpFeedback.map((f) =>
        f.parameter !== undefined ? { type: f.type, parameter: f.parameter } : { type: f.type },
      ),
      // No RTX on a pipe: resends come on the pipe SSRC itself.
      ...(codec.redPayloadType !== undefined ? { redPayloadType: codec.redPayloadType } : {}),
    },
    layering: producer.simulcast ? 'simulcast' : producer.codecKind === 'vp9' ? 'svc' : 'none',
    ssrcs: [...ssrcs],
    source: producer.source,
  };
  if (producer.audioLevel) params.audioLevelExtensionId = producer.audioLevel.extensionId;
  if (producer.encodedBitrates) params.encodedBitrates = [...producer.encodedBitrates];
  return params;
}

const MAX_ID = 256;
const MAX_LAYERS = 8;
const MAX_FEEDBACK = 32;
const TOKEN = 64;

/**
 * Checks parameters that came over the control channel; throws SwitchboardError
 * ('invalid-argument') whose field names the offender.
 */
export function parsePipeProducerParameters(value: unknown): PipeProducerParameters {
  const v = record(value, 'parameters');
  const kind = v.kind;
  if (kind !== 'audio' && kind !== 'video') throw invalid('kind', 'must be audio or video');
  const layering = v.layering;
  if (layering !== 'none' && layering !== 'simulcast' && layering !== 'svc') throw invalid('layering', 'must be none, simulcast or svc');
  const ssrcs = v.ssrcs;
  if (!Array.isArray(ssrcs) || ssrcs.length < 1 || ssrcs.length > MAX_LAYERS) throw invalid('ssrcs', `must hold 1–${MAX_LAYERS} SSRCs`);
  ssrcs.forEach((s, i) => integer(s, `ssrcs.${i}`, 1, 0xffffffff));
  if (new Set(ssrcs).size !== ssrcs.length) throw invalid('ssrcs', 'must be distinct');
  if (layering !== 'simulcast' && ssrcs.length !== 1) throw invalid('ssrcs', 'must hold one SSRC unless simulcast');
  if (kind === 'audio' && layering !== 'none') throw invalid('layering', 'audio is not layered');
  const source = v.source;
  if (source !== 'camera' && source !== 'screen') throw invalid('source', 'must be camera or screen');
  const params: PipeProducerParameters = {
    producerId: text(v.producerId, 'producerId', MAX_ID),
    kind,
    ownerId: text(v.ownerId, 'ownerId', MAX_ID),
    mid: text(v.mid, 'mid', MAX_ID),
    codec: codec(v.codec),
    layering,
    ssrcs: ssrcs as number[],
    source,
  };
  if (v.audioLevelExtensionId !== undefined)
    params.audioLevelExtensionId = integer(v.audioLevelExtensionId, 'audioLevelExtensionId', 1, 255);
  if (v.encodedBitrates !== undefined) {
    const b = v.encodedBitrates;
    if (!Array.isArray(b) || b.length !== ssrcs.length) throw invalid('encodedBitrates', 'must hold one bitrate per SSRC');
    params.encodedBitrates = b.map((x, i) => integer(x, `encodedBitrates.${i}`, 0, 1e10));
  }
  return params;
}

function codec(value: unknown): CodecParameters {
  const v = record(value, 'codec');
  const fb = v.rtcpFeedback;
  if (!Array.isArray(fb) || fb.length > MAX_FEEDBACK) throw invalid('codec.rtcpFeedback', `must be a list of at most ${MAX_FEEDBACK}`);
  const c: CodecParameters = {
    name: text(v.name, 'codec.name', TOKEN),
    payloadType: payloadType(v.payloadType, 'codec.payloadType'),
    clockRate: integer(v.clockRate, 'codec.clockRate', 1, 1_000_000),
    fmtp: text(v.fmtp, 'codec.fmtp', 1024, true),
    rtcpFeedback: fb.map((f, i) => {
      const r = record(f, `codec.rtcpFeedback.${i}`);
      const type = text(r.type, `codec.rtcpFeedback.${i}.type`, TOKEN);
      return r.parameter === undefined
        ? { type }
        : { type, parameter: text(r.parameter, `codec.rtcpFeedback.${i}.parameter`, TOKEN, true) };
    }),
  };
  if (v.channels !== undefined) c.channels = integer(v.channels, 'codec.channels', 1, 8);
  if (v.redPayloadType !== undefined) c.redPayloadType = payloadType(v.redPayloadType, 'codec.redPayloadType');
  return c;
}

/** RFC 5761 §4: on a pipe, RTP and RTCP share a socket; payload types 64–95 would read as RTCP. */
function payloadType(value: unknown, field: string): number {
  const pt = integer(value, field, 0, 127);
  if (pt >= 64 && pt <= 95) throw invalid(field, 'must not be 64–95 (RFC 5761 §4: they collide with RTCP on a shared socket)');
  return pt;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, 'must be an object');
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string, max: number, emptyOk = false): string {
  if (typeof value !== 'string' || value.length > max || (!emptyOk && value.length === 0))
    throw invalid(field, `must be a string of ${emptyOk ? 0 : 1}–${max} characters`);
  return value;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw invalid(field, `must be an integer in ${min}–${max}`);
  return value;
}

function invalid(field: string, problem: string): SwitchboardError {
  return new SwitchboardError('invalid-argument', `pipe producer parameters: ${field} ${problem}`, field);
}
