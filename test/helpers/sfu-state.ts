/**
 * The server's view of an SFU room for a failing test's message: the RTC port's counters and,
 * per participant transport, its state, close reason, selected path and ICE counters.
 */
import type { Switchboard } from '../../src/server/app.js';

export function describeSfuRoom(server: Switchboard | undefined, room: string): string {
  if (!server) return '';
  const router = server.sfu?.routers.get(room);
  const lines = [...(router?.participants.values() ?? [])].flatMap((p) => [p.publishRtc, p.subscribeRtc].map((t) =>
    `${t.id}: ${t.state}${t.closeReason ? ` (${t.closeReason})` : ''}, path ${t.ice.selectedTuple?.id ?? 'none'}, ice ${JSON.stringify(t.ice.stats)}`));
  return `\n--- server ---\nport ${JSON.stringify(server.rtc?.port.stats)}\n${lines.join('\n')}`;
}
