/**
 * Opus for the MCU's audio: libopus through @evan/opus (its native addon; the benchmark in
 * bench/mcu-codecs.ts compared it with its WebAssembly build and with FFmpeg's libopus through
 * node-av). Mono, 48 kHz, 20 ms frames (src/mcu/audio/format.ts).
 *
 * The binding does not expose libopus' packet loss concealment (a decode with no data), so a
 * lost frame is concealed here: the last decoded frame again, faded, then silence.
 */
import { Decoder, Encoder } from '@evan/opus';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../audio/format.js';

/** Concealment gain per lost frame in a row: 0.5, 0.25, … then silence after CONCEAL_FRAMES. */
const CONCEAL_FRAMES = 4;

export class OpusFrameDecoder {
  private readonly decoder = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE });
  /** The last frame decoded or concealed; reused (valid until the next call). */
  readonly frame = new Int16Array(FRAME_SAMPLES);
  private lostInRow = 0;
  /** Payloads libopus refused (malformed), or that were not 20 ms. */
  malformed = 0;

  /** Decodes one Opus packet into `frame`; false (and a concealed frame) when it cannot be decoded. */
  decode(payload: Uint8Array): boolean {
    let out: Uint8Array;
    try {
      out = this.decoder.decode(payload);
    } catch {
      this.malformed++;
      this.conceal();
      return false;
    }
    const samples = out.byteLength >>> 1;
    if (samples < FRAME_SAMPLES) {
      // 10 ms or shorter packets: what arrived, then silence (browsers send 20 ms).
      this.malformed++;
      this.frame.fill(0);
    }
    const n = Math.min(samples, FRAME_SAMPLES);
    // The binding returns a view of its own buffer, rewritten by the next decode: copy out.
    const view = new Int16Array(out.buffer, out.byteOffset, n);
    this.frame.set(view);
    this.lostInRow = 0;
    return true;
  }

  /** A missing frame: the previous one again at half the gain each time, silence after a few. */
  conceal(): void {
    this.lostInRow++;
    if (this.lostInRow > CONCEAL_FRAMES) {
      this.frame.fill(0);
      return;
    }
    const f = this.frame;
    for (let i = 0; i < f.length; i++) f[i] = (f[i] as number) >> 1;
  }

  /** Silence (not started, or the sender paused). */
  silence(): void {
    this.frame.fill(0);
    this.lostInRow = CONCEAL_FRAMES;
  }
}

export interface OpusEncoderOptions {
  /** Bits per second (default 32 kbit/s, wideband voice with room for music). */
  bitrate?: number;
}

export class OpusFrameEncoder {
  private readonly encoder: Encoder;

  constructor(opts: OpusEncoderOptions = {}) {
    this.encoder = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
    this.encoder.bitrate = opts.bitrate ?? 32_000;
  }

  /** One 20 ms frame → one Opus packet: a view valid until the next encode. */
  encode(pcm: Int16Array): Uint8Array {
    return this.encoder.encode(pcm);
  }
}
