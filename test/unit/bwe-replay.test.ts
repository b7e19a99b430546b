/**
 * The estimator on REAL feedback: a recording (test/fixtures/bwe/, made by
 * test/helpers/record-bwe-feedback.ts) of what our server sent to a Chromium subscriber behind
 * a 300 kbit/s tbf downlink, and the decrypted transport-cc / RR compounds Chromium sent back,
 * first shaped, then unshaped. Replayed in order through the real parser into a fresh estimator.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { parseRtcpCompound } from '../../src/rtc/rtcp/index.js';
import { BandwidthEstimator } from '../../src/sfu/bwe/BandwidthEstimator.js';
import type { BweRecording } from '../helpers/record-bwe-feedback.js';

const FIXTURE = new URL('../../../test/fixtures/bwe/chromium-tbf-300k.json.gz', import.meta.url);

interface Sample {
  t: number;
  estimate: number;
  loss: number;
  acked: number | null;
}

function replay(rec: BweRecording): { e: BandwidthEstimator; samples: Sample[]; firstFeedbackMs: number } {
  const e = new BandwidthEstimator();
  const first = rec.sends[0];
  assert.ok(first, 'the recording has sends');
  // Packets sent before the recorder attached: advance the counter so the numbers line up.
  for (let i = 0; i < first[1]; i++) e.onPacketSent(0, 0);
  const samples: Sample[] = [];
  let firstFeedbackMs = -1;
  let s = 0;
  for (const [t, b64] of rec.rtcp) {
    while (s < rec.sends.length && (rec.sends[s] as [number, number, number, number])[0] <= t) {
      const [st, seq, size, probe] = rec.sends[s++] as [number, number, number, number];
      assert.equal(e.onPacketSent(size, st, probe === 1), seq, 'sequence numbers replay as recorded');
    }
    const packets = parseRtcpCompound(Buffer.from(b64, 'base64'));
    assert.ok(packets, 'every recorded compound parses');
    for (const p of packets) {
      if (p.type === 'twcc') {
        if (firstFeedbackMs < 0) firstFeedbackMs = t;
        e.onTransportFeedback(p, t);
      } else if (p.type === 'remb') e.onRemb(p.bitrate, t);
    }
    samples.push({ t, estimate: e.estimateBps, loss: e.lossFraction, acked: e.ackedBps });
  }
  return { e, samples, firstFeedbackMs };
}

test('recorded Chromium feedback behind 300 kbit/s: the estimate falls under 400 kbit/s, and leaves its low once unshaped', () => {
  const rec = JSON.parse(gunzipSync(readFileSync(FIXTURE)).toString('utf8')) as BweRecording;
  const { e, samples, firstFeedbackMs } = replay(rec);
  assert.ok(e.counters.feedbacks > 100, `${e.counters.feedbacks} feedbacks`);
  assert.ok(e.counters.unknownPackets < e.counters.packetsAcked / 10, `few unknown numbers (${e.counters.unknownPackets})`);
  const shaped = samples.filter((x) => x.t < rec.liftedAtMs);
  const fell = shaped.find((x) => x.estimate < 400_000);
  assert.ok(
    fell && fell.t - firstFeedbackMs < 10_000,
    `under 400 kbit/s ${fell ? fell.t - firstFeedbackMs : 'never'} ms after the first feedback`,
  );
  const settled = shaped.filter((x) => x.t > firstFeedbackMs + 10_000);
  assert.ok(
    settled.every((x) => x.estimate < 450_000),
    `stays near the 300 kbit/s link while shaped (max ${Math.max(...settled.map((x) => x.estimate))})`,
  );
  const low = Math.min(...shaped.map((x) => x.estimate));
  const lifted = samples.filter((x) => x.t > rec.liftedAtMs + 5000);
  assert.ok(lifted.length > 0);
  assert.ok(
    lifted.every((x) => x.loss < 0.05),
    'no loss once unshaped',
  );
  const end = (lifted[lifted.length - 1] as Sample).estimate;
  assert.ok(end > 1.5 * low, `climbs from its low ${low} to ${end} once unshaped (without probing, only as far as what is sent)`);
});

test('replaying the recording twice gives the same estimates (no hidden state, no wall clock)', () => {
  const rec = JSON.parse(gunzipSync(readFileSync(FIXTURE)).toString('utf8')) as BweRecording;
  const a = replay(rec).samples.map((x) => x.estimate);
  const b = replay(rec).samples.map((x) => x.estimate);
  assert.deepEqual(a, b);
});
