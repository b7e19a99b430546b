/**
 * The server's view of an SFU room for a failing test's message: the RTC port's counters and,
 * per participant, each transport's state, close reason, selected path and ICE counters, the
 * subscriber's estimate, and what each of its video consumers forwards (allocator target,
 * layers, packets, keyframe requests).
 */
import type { Switchboard } from '../../src/server/app.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import type { SfuParticipant } from '../../src/session/SfuParticipant.js';

/** What `p`'s allocator last gave consumer `c`: "spatial/temporal", "paused" or "unallocated". */
export function allocatorTarget(p: SfuParticipant, c: Consumer): string {
  const target = p.allocator?.targetOf(c.id);
  return target === undefined ? 'unallocated' : target === null ? 'paused' : `${target.spatial}/${target.temporal}`;
}

function describeParticipant(p: SfuParticipant): string[] {
  const transports = [p.publishRtc, p.subscribeRtc].map(
    (t) =>
      `${t.id}: ${t.state}${t.closeReason ? ` (${t.closeReason})` : ''}, path ${t.ice.selectedTuple?.id ?? 'none'}, ice ${JSON.stringify(t.ice.stats)}`,
  );
  const consumers = [...p.subscribe.consumers]
    .filter((c) => c.kind === 'video')
    .map((c) => {
      return `  ← ${c.producer.ownerId}: allocator ${allocatorTarget(p, c)}, layers ${JSON.stringify(c.currentLayers)}→${JSON.stringify(c.targetLayers)}, ${c.packetsSent} sent, ${c.keyframeRequests} keyframe requests, producer got ${c.producer.packetsReceived}`;
    });
  const producers = [...p.producers]
    .filter((x) => x.kind === 'video')
    .map((x) => `  → ${x.id}: ${x.packetsReceived} packets, ${x.retransmissionsReceived} RTX, ${x.keyframesReceived} keyframes`);
  return [
    ...transports,
    ...producers,
    `  estimate ${Math.round(p.subscribe.estimateBps / 1000)} kbit/s (delay ${Math.round(p.subscribe.bwe.delayBasedBps / 1000)}, loss-based ${Math.round(p.subscribe.bwe.lossBasedBps / 1000)}, loss ${(100 * p.subscribe.lossFraction).toFixed(1)} % (${p.subscribe.lossyWindows} lossy windows), pause ${p.allocator?.pauseAllowed ? 'allowed' : 'not allowed'}), ${JSON.stringify(p.subscribe.bwe.counters)}`,
    ...consumers,
  ];
}

export function describeSfuRoom(server: Switchboard | undefined, room: string): string {
  if (!server) return '';
  const router = server.sfu?.rooms.get(room);
  const lines = [...(router?.participants.values() ?? [])].flatMap(describeParticipant);
  return `\n--- server ---\nport ${JSON.stringify(server.rtc?.port.stats)}\n${lines.join('\n')}`;
}
