/**
 * Dev script: records what a real Chromium subscriber reports about our sending, for the
 * estimator's replay test (test/unit/bwe-replay.test.ts). The lab of ./bwe-lab.ts runs with the
 * limited subscriber's downlink shaped by tbf to 300 kbit/s for LIMITED_S seconds, then
 * unshaped for LIFTED_S seconds. For that subscriber's transport it writes every packet the
 * server sent (time, transport sequence number, size, probe flag) and every decrypted RTCP
 * compound that carries transport-cc, REMB or receiver reports, gzipped JSON.
 *
 *   node dist/test/helpers/record-bwe-feedback.js test/fixtures/bwe/chromium-tbf-300k.json.gz
 *
 * Run as root (network namespaces). Not part of the server: it wraps the estimator's input.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parseRtcpCompound } from '../../src/rtc/rtcp/index.js';
import { LIMITED, startBweLab } from './bwe-lab.js';
import { waitFor } from './browsers.js';
import { observePackets } from './packet-observer.js';

export const RECORD_LIMIT_KBIT = 300;

/** The fixture's shape: times in ms from the first event. */
export interface BweRecording {
  description: string;
  limitKbit: number;
  /** When the shaping was lifted (ms, same clock as the events). */
  liftedAtMs: number;
  /** [t, seq16, size, probe 0/1] per packet sent, in send order. */
  sends: Array<[number, number, number, number]>;
  /** [t, base64 of the decrypted RTCP compound] in arrival order. */
  rtcp: Array<[number, string]>;
}

async function main(): Promise<void> {
  const out = process.argv[2];
  const limitedS = Number(process.argv[3] ?? 20);
  const liftedS = Number(process.argv[4] ?? 20);
  if (!out) throw new Error('usage: record-bwe-feedback OUT.json.gz [limited seconds] [lifted seconds]');
  const lab = await startBweLab({ room: 'bwerec', limitKbit: RECORD_LIMIT_KBIT, publisherVideo: '640x480' });
  try {
    const p = await lab.participant(LIMITED);
    const bwe = p.subscribe.bwe;
    const t0 = performance.now();
    const rec: BweRecording = {
      description: `Chromium subscriber (receive-only) of one Chromium publisher (640x480 noise camera); its downlink shaped by tbf ${RECORD_LIMIT_KBIT} kbit/s (200 ms queue) for ${limitedS} s, then unshaped for ${liftedS} s`,
      limitKbit: RECORD_LIMIT_KBIT,
      liftedAtMs: 0,
      sends: [],
      rtcp: [],
    };
    const ms = (t: number): number => Math.round((t - t0) * 100) / 100;
    const onPacketSent = bwe.onPacketSent.bind(bwe);
    bwe.onPacketSent = (size, now, probe = false) => {
      const seq = onPacketSent(size, now, probe);
      rec.sends.push([ms(now), seq, size, probe ? 1 : 0]);
      return seq;
    };
    observePackets(p.subscribeRtc, {
      onRtcp: (buf: Buffer) => {
        const packets = parseRtcpCompound(buf);
        if (packets?.some((x) => x.type === 'twcc' || x.type === 'remb' || x.type === 'rr'))
          rec.rtcp.push([ms(performance.now()), buf.toString('base64')]);
      },
    });
    await waitFor('feedback flowing', async () => (bwe.counters.feedbacks > 5 ? true : null), 60_000, 250);
    await new Promise((r) => setTimeout(r, limitedS * 1000));
    lab.shape(null);
    rec.liftedAtMs = ms(performance.now());
    await new Promise((r) => setTimeout(r, liftedS * 1000));
    const gz = gzipSync(JSON.stringify(rec), { level: 9 });
    writeFileSync(out, gz);
    console.log(
      `${rec.sends.length} sends, ${rec.rtcp.length} RTCP compounds, lifted at ${rec.liftedAtMs} ms, ${gz.length} bytes → ${out}; live estimate ${Math.round(bwe.estimateBps / 1000)} kbit/s`,
    );
  } finally {
    await lab.close();
  }
}

if (process.argv[1]?.endsWith('record-bwe-feedback.js')) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
