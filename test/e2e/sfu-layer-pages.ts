/**
 * Reading and steering simulcast/SVC layers in real pages (SFU rooms): a page's own id, the
 * size of its tile for another participant, what its decoder sees from that participant, the
 * publisher's encodings, and the server's producer and consumers for failure messages.
 */
import type { Switchboard } from '../../src/server/app.js';
import type { Consumer } from '../../src/sfu/Consumer.js';
import type { Producer } from '../../src/sfu/Producer.js';
import { waitFor, type TestPage } from '../helpers/browsers.js';
import { remoteStats, type PageGlobals } from './page-api.js';
import type { Router } from '../../src/sfu/Router.js';

export function selfId(page: TestPage): Promise<string> {
  return page.evaluate(() => ((globalThis as unknown as PageGlobals).switchboard.room as unknown as { self: { id: string } }).self.id);
}

/** Waits until every page shows a tile for participant `id`. */
export async function tileShown(pages: readonly TestPage[], id: string): Promise<void> {
  await waitFor(
    `a tile for ${id} on ${pages.length} page(s)`,
    async () => {
      const ok = await Promise.all(
        pages.map((page) =>
          page.evaluate(
            (pid) => (globalThis as unknown as PageGlobals).document.querySelector(`.tile[data-participant-id="${pid}"]`) !== null,
            id,
          ),
        ),
      );
      return ok.every(Boolean) ? true : null;
    },
    30_000,
  );
}

/** Sets the CSS size of the page's tile for participant `id` (the video fills it). */
export async function sizeTile(page: TestPage, id: string, width: number): Promise<void> {
  await page.evaluate(
    ([pid, w]) => {
      const g = globalThis as unknown as { document: { querySelector(s: string): { style: Record<string, string> } | null } };
      const tile = g.document.querySelector(`.tile[data-participant-id="${pid}"]`);
      if (!tile) throw new Error(`no tile for ${pid}`);
      tile.style.width = `${w}px`;
      tile.style.maxWidth = 'none';
      tile.style.flex = 'none';
    },
    [id, width] as const,
  );
}

/** The publisher page's video sender encodings: rid → active. */
export function publisherEncodings(page: TestPage): Promise<Record<string, boolean>> {
  return page.evaluate(() => {
    const room = (globalThis as unknown as PageGlobals).switchboard.room as unknown as {
      transport: {
        publishPc: {
          getSenders(): Array<{
            track: { kind: string } | null;
            getParameters(): { encodings: Array<{ rid?: string; active?: boolean }> };
          }>;
        };
      };
    };
    const sender = room.transport.publishPc.getSenders().find((s) => s.track?.kind === 'video');
    const out: Record<string, boolean> = {};
    for (const e of sender?.getParameters().encodings ?? []) out[e.rid ?? ''] = e.active ?? true;
    return out;
  });
}

/** The publisher's outbound video per rid, and its bandwidth estimate, for failure messages. */
export function publisherOutbound(page: TestPage): Promise<string> {
  return page.evaluate(async () => {
    const room = (globalThis as unknown as PageGlobals).switchboard.room as unknown as {
      transport: { publishPc: { getStats(): Promise<Map<string, Record<string, unknown>>> } };
    };
    const stats = await room.transport.publishPc.getStats();
    const parts: string[] = [];
    stats.forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        parts.push(
          `${String(r.rid)}: ${String(r.frameWidth)}x${String(r.frameHeight)} sent ${String(r.packetsSent)} active ${String(r.active)} limit ${String(r.qualityLimitationReason)} target ${String(r.targetBitrate)} ${String(r.encoderImplementation)} ${String(r.scalabilityMode)}`,
        );
      }
      if (r.type === 'candidate-pair' && r.nominated) parts.push(`available out ${String(r.availableOutgoingBitrate)}`);
    });
    return parts.join('; ');
  });
}

export async function statsOf(page: TestPage, publisherId: string): Promise<{ frames: number; height: number } | null> {
  const s = (await remoteStats(page)).find((r) => r.participantId === publisherId);
  return s ? { frames: s.videoFramesDecoded, height: s.videoHeight } : null;
}

/** The router of each producer found (the Router, not the producer, knows its consumers). */
const routers = new WeakMap<Producer, Router>();

export function videoProducer(server: Switchboard, room: string, ownerId: string): Producer | null {
  const sfuRoom = server.sfu?.rooms.get(room);
  const producer = sfuRoom?.producers.find((p) => p.ownerId === ownerId && p.kind === 'video') ?? null;
  if (producer && sfuRoom) routers.set(producer, sfuRoom.router);
  return producer;
}

function consumersOf(producer: Producer): Consumer[] {
  return [...(routers.get(producer)?.consumersOf(producer) ?? [])];
}

export function consumerOf(producer: Producer, subscriberId: string): Consumer | null {
  return consumersOf(producer).find((c) => c.subscriberId === subscriberId) ?? null;
}

export function describeLayers(p: Producer | null): string {
  if (!p) return 'no producer';
  const streams = p.streams
    .map(
      (s) =>
        `${s.rid ?? 'main'}: ${s.packetsReceived} pkts ${s.width}x${s.height} ${Math.round(s.bitrate.bitrate(performance.now()) / 1000)} kbps`,
    )
    .join('; ');
  const consumers = consumersOf(p)
    .map(
      (c) =>
        `${c.subscriberId}: current ${JSON.stringify(c.currentLayers)} target ${JSON.stringify(c.targetLayers)} preferred ${JSON.stringify(c.preferredLayers)}`,
    )
    .join('; ');
  return `${streams} | ${consumers}`;
}

/** Waits until the subscriber decodes the publisher at `check(height)` with frames rising. */
export async function waitForHeight(
  label: string,
  page: TestPage,
  publisherId: string,
  check: (h: number) => boolean,
  what: string,
  producer: () => Producer | null,
  timeoutMs = 45_000,
): Promise<number> {
  try {
    const first = await waitFor(
      `${label}: ${what}`,
      async () => {
        const s = await statsOf(page, publisherId);
        return s && s.frames > 0 && check(s.height) ? s : null;
      },
      timeoutMs,
      500,
    );
    const later = await waitFor(
      `${label}: still decoding`,
      async () => {
        const s = await statsOf(page, publisherId);
        return s && s.frames > first.frames + 5 && check(s.height) ? s : null;
      },
      15_000,
      500,
    );
    return later.height;
  } catch (err) {
    if (err instanceof Error)
      err.message += `\nlayers: ${describeLayers(producer())}\nstats: ${JSON.stringify(await statsOf(page, publisherId))}`;
    throw err;
  }
}
