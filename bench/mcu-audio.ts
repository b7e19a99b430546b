/**
 * Audio-only MCU: how many participants one core mixes in real time. N publishers' Opus
 * producers (a voice-like signal, one 20 ms packet per tick, through the real Producer → Router sink →
 * jitter buffer → decode path) and N listeners, each getting their own N−1 mix encoded and sent
 * through their own output Producer: the AudioMixer's full tick, timed over `--ticks` ticks.
 *
 * Real time means a tick (20 ms of audio for everyone) takes ≤ 20 ms of one core; participants
 * per core = N × 20 ms ÷ tick time, at the largest N measured. The reference measured in the same
 * run is the bare codec work any MCU must do per participant — one Opus decode and one Opus
 * encode with the same library — so ratio = our per-participant cost ÷ that floor.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/mcu-audio.js [--participants 10,50,100,200] [--ticks 250]
 *
 * Single-threaded, in this process (no network): about 30 s at the defaults.
 */
import { Decoder, Encoder } from '@evan/opus';
import { AudioMixer } from '../src/mcu/audio/AudioMixer.js';
import { FRAME_SAMPLES, RTP_TICKS_PER_FRAME, SAMPLE_RATE } from '../src/mcu/audio/format.js';
import { MIX_AUDIO_CODEC } from '../src/mcu/output-producer.js';
import { parseRtpHeader, RtpHeaderView } from '../src/rtc/rtp/index.js';
import type { Producer } from '../src/sfu/Producer.js';
import { routerWithoutTransports } from '../test/helpers/media-core.js';
import { nonNegative } from './lib/proc.js';

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/bench/mcu-audio.js [--participants 10,50,100,200] [--ticks 250]`);
  process.exit(2);
}

function parseArgs(argv: string[]): { participants: number[]; ticks: number } {
  const o = { participants: [10, 50, 100, 200], ticks: 250 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--participants') {
      o.participants = (argv[++i] ?? '')
        .split(',')
        .map((v) => Math.floor(nonNegative('participants', v, usage)))
        .filter((n) => n >= 2);
      if (o.participants.length === 0) usage('--participants needs counts ≥ 2');
    } else if (a === '--ticks') o.ticks = Math.max(10, Math.floor(nonNegative('ticks', argv[++i], usage)));
    else usage(`unknown option ${a}`);
  }
  return o;
}

/** Opus packets of a voice-like signal (pitched harmonics, syllable envelope), `phase` shifting the voice. */
function voicePackets(count: number, phase: number): Buffer[] {
  const enc = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  enc.bitrate = 32_000;
  const out: Buffer[] = [];
  const pcm = new Int16Array(FRAME_SAMPLES);
  let n = 0;
  for (let f = 0; f < count; f++) {
    for (let i = 0; i < FRAME_SAMPLES; i++, n++) {
      const t = n / SAMPLE_RATE + phase;
      const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
      pcm[i] = Math.round(5000 * env * (Math.sin(2 * Math.PI * (120 + phase * 40) * t) + 0.4 * Math.sin(2 * Math.PI * 900 * t)));
    }
    out.push(Buffer.from(enc.encode(pcm)));
  }
  return out;
}

const noFeedback = { sendRtcp(): void {} };

/** One room of `n`: returns the time per tick, ms. */
function measure(n: number, ticks: number, packets: Buffer[][]): number {
  // The mixer's room core; the bench feeds its producers itself, so it needs no network transports.
  const router = routerWithoutTransports();
  const mixer = new AudioMixer(router);
  const producers: Producer[] = [];
  for (let i = 0; i < n; i++) {
    const p = router.produce({
      id: `p${i}-audio`,
      kind: 'audio',
      ownerId: `p${i}`,
      mid: '0',
      ssrc: 1000 + i,
      codec: MIX_AUDIO_CODEC,
      feedbackSsrc: 1,
      feedback: noFeedback,
    });
    producers.push(p);
    mixer.addInput(p);
    mixer.addListener(`p${i}`);
    mixer.setListening(`p${i}`, true); // as if their media connection were up: their mix is encoded
  }
  const view = new RtpHeaderView();
  const rtp = Buffer.allocUnsafe(1500);
  const send = (i: number, k: number): void => {
    const payload = packets[i % packets.length]![k % packets[0]!.length]!;
    rtp[0] = 0x80;
    rtp[1] = MIX_AUDIO_CODEC.payloadType;
    rtp.writeUInt16BE(k & 0xffff, 2);
    rtp.writeUInt32BE((k * RTP_TICKS_PER_FRAME) >>> 0, 4);
    rtp.writeUInt32BE(1000 + i, 8);
    payload.copy(rtp, 12);
    const pkt = rtp.subarray(0, 12 + payload.length);
    if (parseRtpHeader(pkt, view)) producers[i]!.receive(pkt, view, performance.now());
  };
  // Fill the jitter buffers to their target depth, warm up, then time.
  let k = 0;
  for (; k < 3; k++) for (let i = 0; i < n; i++) send(i, k);
  for (let w = 0; w < 20; w++, k++) {
    for (let i = 0; i < n; i++) send(i, k);
    mixer.tick(performance.now());
  }
  const t = performance.now();
  for (let tick = 0; tick < ticks; tick++, k++) {
    for (let i = 0; i < n; i++) send(i, k);
    mixer.tick(performance.now());
  }
  const ms = (performance.now() - t) / ticks;
  let sent = 0;
  for (const out of mixer.outputs.values()) sent += out.framesSent;
  if (sent < n * ticks) throw new Error(`only ${sent} of ${n * ticks} mixes sent`);
  mixer.close();
  for (const p of producers) p.close();
  return ms;
}

/** The floor: one decode and one encode per participant per 20 ms, µs. */
function codecFloor(packets: Buffer[], count: number): number {
  const dec = new Decoder({ channels: 1, sample_rate: SAMPLE_RATE });
  const enc = new Encoder({ channels: 1, sample_rate: SAMPLE_RATE, application: 'voip' });
  enc.bitrate = 32_000;
  const pcm = new Int16Array(FRAME_SAMPLES);
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    const out = dec.decode(packets[i % packets.length]!);
    pcm.set(new Int16Array(out.buffer, out.byteOffset, FRAME_SAMPLES));
    enc.encode(pcm);
  }
  return ((performance.now() - t) * 1000) / count;
}

function main(): void {
  const { participants, ticks } = parseArgs(process.argv.slice(2));
  const packets = Array.from({ length: 8 }, (_, v) => voicePackets(100, v * 0.37));
  const floorUs = codecFloor(packets[0]!, 3000);
  console.log(`Audio-only MCU, N−1 mix per listener, 20 ms frames, ${ticks} ticks per room size (node ${process.version})`);
  console.log(`reference: Opus decode + encode per participant (@evan/opus) = ${floorUs.toFixed(1)} µs per 20 ms\n`);
  console.log('participants  tick ms  µs/participant  real-time load (one core)  participants/core  ratio vs codec floor');
  let last = { n: 0, perCore: 0 };
  for (const n of participants) {
    const ms = measure(n, ticks, packets);
    const per = (ms * 1000) / n;
    const perCore = Math.floor(20_000 / per);
    last = { n, perCore };
    console.log(
      `${String(n).padEnd(13)} ${ms.toFixed(2).padEnd(8)} ${per.toFixed(1).padEnd(15)} ${`${((ms / 20) * 100).toFixed(0)} %`.padEnd(26)} ${String(perCore).padEnd(18)} ${(per / floorUs).toFixed(2)}`,
    );
  }
  console.log(`\nat N=${last.n}: ${last.perCore} participants per core in real time (20 ms of audio per 20 ms of one core)`);
}

main();
