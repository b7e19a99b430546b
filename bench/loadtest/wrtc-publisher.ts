/**
 * A publisher on @roamhq/wrtc (libwebrtc): real VP8 and Opus encoding of synthetic media fed
 * through its nonstandard RTCVideoSource / RTCAudioSource. The video is a band of noise sliding
 * across the picture, so the encoder has motion to spend bits on; the audio a 440 Hz tone.
 * libwebrtc encodes and packetizes itself, so its packets carry no load-tool trailer: subscribers
 * attribute them by SSRC and report no latency for them.
 */
import type { MediaKind, PublisherPeer } from './peer.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

/** The part of @roamhq/wrtc used here (its own typings lean on the DOM lib). */
interface WrtcTrack {
  stop(): void;
}
interface WrtcSender {
  getParameters(): { encodings?: { maxBitrate?: number }[] };
  setParameters(p: unknown): Promise<void>;
}
interface WrtcTransceiver {
  sender: WrtcSender;
}
interface WrtcStats {
  forEach(cb: (s: Record<string, unknown>) => void): void;
}
interface WrtcPc {
  addTransceiver(t: unknown, init: { direction: string; streams: unknown[] }): WrtcTransceiver;
  createOffer(): Promise<{ type: string; sdp: string }>;
  setLocalDescription(d: { type: string; sdp: string }): Promise<void>;
  setRemoteDescription(d: { type: string; sdp: string }): Promise<void>;
  readonly connectionState: string;
  readonly localDescription: { sdp: string } | null;
  getStats(): Promise<WrtcStats>;
  close(): void;
}
export interface WrtcModule {
  RTCPeerConnection: new (config: { iceServers: unknown[] }) => WrtcPc;
  MediaStream: new (tracks: unknown[]) => unknown;
  nonstandard: {
    RTCAudioSource: new () => {
      createTrack(): WrtcTrack;
      onData(d: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
    };
    RTCVideoSource: new () => { createTrack(): WrtcTrack; onFrame(f: { width: number; height: number; data: Uint8Array }): void };
  };
}

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
const SAMPLE_RATE = 48000;
const SAMPLES_PER_10MS = SAMPLE_RATE / 100;

export class WrtcPublisher implements PublisherPeer {
  readonly replaysRecording = false;
  private readonly pc: WrtcPc;
  private readonly audioSource;
  private readonly videoSource;
  private readonly tracks: WrtcTrack[];
  private readonly transceivers: WrtcTransceiver[];
  private timers: NodeJS.Timeout[] = [];
  private startedMs = NaN;
  private baseline: { ssrc: number; packets: number; bytes: number }[] = [];
  private stoppedMs = NaN;

  constructor(
    wrtc: WrtcModule,
    readonly name: string,
  ) {
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.audioSource = new wrtc.nonstandard.RTCAudioSource();
    this.videoSource = new wrtc.nonstandard.RTCVideoSource();
    const audio = this.audioSource.createTrack();
    const video = this.videoSource.createTrack();
    this.tracks = [audio, video];
    const stream = new wrtc.MediaStream([audio, video]);
    this.transceivers = [
      this.pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] }),
      this.pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] }),
    ];
  }

  async createOffer(): Promise<string> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return this.pc.localDescription?.sdp ?? offer.sdp;
  }

  async applyAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  async connected(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const s = this.pc.connectionState;
      if (s === 'connected') return;
      if (s === 'failed' || s === 'closed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new SwitchboardError(
      InternalErrorCode.Unavailable,
      `wrtc publish connection not connected within ${timeoutMs} ms (${this.pc.connectionState})`,
    );
  }

  sendRtp(): void {
    /* libwebrtc sends what it encodes */
  }
  onKeyframeRequest(): void {
    /* libwebrtc answers PLI/FIR itself */
  }

  startMedia(videoBitrate: number): void {
    const video = this.transceivers[1]?.sender;
    if (video) {
      const params = video.getParameters();
      const encodings = params.encodings?.length ? params.encodings : [{}];
      for (const e of encodings) e.maxBitrate = videoBitrate;
      video.setParameters({ ...params, encodings }).catch(() => undefined);
    }
    // I420: a fixed band of noise, copied at a moving offset each frame (cheap motion for the encoder).
    const frameBytes = (WIDTH * HEIGHT * 3) / 2;
    const noise = new Uint8Array(frameBytes * 2);
    let x = 0x12345678;
    for (let i = 0; i < noise.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      noise[i] = x & 0xff;
    }
    const frame = new Uint8Array(frameBytes);
    let n = 0;
    this.timers.push(
      setInterval(() => {
        const off = (n++ * 7919) % frameBytes;
        frame.set(noise.subarray(off, off + frameBytes));
        this.videoSource.onFrame({ width: WIDTH, height: HEIGHT, data: frame });
      }, 1000 / FPS),
    );
    const samples = new Int16Array(SAMPLES_PER_10MS);
    let phase = 0;
    this.timers.push(
      setInterval(() => {
        for (let i = 0; i < samples.length; i++) {
          samples[i] = Math.round(8000 * Math.sin(phase));
          phase += (2 * Math.PI * 440) / SAMPLE_RATE;
        }
        this.audioSource.onData({ samples, sampleRate: SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: SAMPLES_PER_10MS });
      }, 10),
    );
    this.startedMs = performance.now();
  }

  async startWindow(): Promise<void> {
    this.baseline = await this.outbound();
    this.startedMs = performance.now();
  }

  async sentStats(): Promise<{ kind: MediaKind; ssrc: number; packets: number; bytes: number; seconds: number }[]> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (Number.isNaN(this.stoppedMs)) this.stoppedMs = performance.now();
    const seconds = (this.stoppedMs - this.startedMs) / 1000;
    return (await this.outbound()).map((s) => {
      const base = this.baseline.find((b) => b.ssrc === s.ssrc);
      return { ...s, packets: s.packets - (base?.packets ?? 0), bytes: s.bytes - (base?.bytes ?? 0), seconds };
    });
  }

  /** outbound-rtp of getStats (RTCOutboundRtpStreamStats): bytes with RTP headers, as the subscribers count them. */
  private async outbound(): Promise<{ kind: MediaKind; ssrc: number; packets: number; bytes: number }[]> {
    const out: { kind: MediaKind; ssrc: number; packets: number; bytes: number }[] = [];
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'outbound-rtp' || (s.kind !== 'audio' && s.kind !== 'video')) return;
      out.push({
        kind: s.kind,
        ssrc: Number(s.ssrc),
        packets: Number(s.packetsSent ?? 0),
        bytes: Number(s.bytesSent ?? 0) + Number(s.headerBytesSent ?? 0),
      });
    });
    return out;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const t of this.tracks) t.stop();
    this.pc.close();
  }
}
