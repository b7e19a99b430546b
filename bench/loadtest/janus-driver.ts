/**
 * The load tool's signaling driver for Janus's VideoRoom plugin (janus.plugin.videoroom), used
 * only to measure Switchboard against Janus with the same peers (bench/sfu-vs-janus.ts).
 *
 * One WebSocket to Janus per driver; one Janus session per publish/subscribe call (destroying
 * it on close removes its handles, so nothing is left in the room).
 * - Room names become numeric room ids (FNV-1a, 31 bits): Janus's default configuration wants
 *   numbers. A room is created on first use ("exists", then "create"; "already exists" is fine).
 * - Publisher: attach, join {ptype: publisher}, then "publish" with our offer → Janus's answer.
 * - Subscriber: an observer handle joins as a (silent) publisher, since only publishers are told
 *   of new feeds; a second handle joins {ptype: subscriber, streams: every feed} → Janus offers,
 *   we answer with "start". New feeds are added with "subscribe", which brings a new offer; so
 *   does a feed leaving ("updated"). Offers are answered one at a time, in order.
 * Janus is a full ICE agent that does half-trickle: our candidates must be in the SDP we send,
 * and a trickle {completed: true} follows each SDP (as janus.js does when gathering ends).
 */
import type { DriverOptions, PublishSession, SessionEvents, SignalingDriver, SubscribeHandlers, SubscribeSession } from './driver.js';
import { JanusConnection, type JanusHandle, type JanusJsep, type JanusSession } from './janus-api.js';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

const PLUGIN = 'janus.plugin.videoroom';
/** videoroom error code (janus_videoroom.c): the room exists already. */
const ERR_ROOM_EXISTS = 427;

/** A room name as a positive 31-bit id (FNV-1a): stable across runs, numeric as Janus's default wants. */
export function janusRoomId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff || 1;
}

/** The feeds (publisher ids) in a videoroom "publishers" list that are really sending. */
function feedsOf(list: unknown): number[] {
  if (!Array.isArray(list)) return [];
  const out: number[] = [];
  for (const p of list) {
    if (typeof p !== 'object' || p === null) continue;
    const id = (p as { id?: unknown }).id;
    if (typeof id === 'number' && Number.isSafeInteger(id)) out.push(id);
  }
  return out;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export interface JanusDriverOptions extends DriverOptions {
  /** Extra fields for "create" (the room's settings); defaults suit one-publisher benchmarks. */
  roomSettings?: Record<string, unknown>;
}

export class JanusVideoRoomDriver implements SignalingDriver {
  readonly name = 'janus-videoroom';
  private conn: Promise<JanusConnection> | undefined;
  private readonly sessions = new Set<{ close(): Promise<void> }>();
  private readonly rooms = new Map<string, Promise<number>>();
  private closed = false;

  constructor(private readonly opts: JanusDriverOptions) {}

  async publish(room: string, peerName: string, offerSdp: string, events: SessionEvents = {}): Promise<PublishSession> {
    const session = await this.session();
    const s = this.track({ close: () => session.destroy() });
    try {
      const roomId = await this.room(room, session);
      const h = await session.attach(PLUGIN);
      h.on('hangup', (reason) => events.onError?.(`janus hung up the publisher ${peerName}: ${reason}`));
      const joined = await h.message({ request: 'join', ptype: 'publisher', room: roomId, display: peerName });
      if (joined.data.videoroom !== 'joined')
        throw new SwitchboardError(
          InternalErrorCode.Malformed,
          `janus join (publisher ${peerName}): unexpected reply ${JSON.stringify(joined.data)}`,
        );
      const reply = await h.message({ request: 'publish', audio: true, video: true, data: false }, { type: 'offer', sdp: offerSdp });
      if (reply.jsep?.type !== 'answer')
        throw new SwitchboardError(InternalErrorCode.Malformed, `janus publish (${peerName}): no answer in ${JSON.stringify(reply.data)}`);
      h.trickleCompleted();
      return { answerSdp: reply.jsep.sdp, close: () => s.close() };
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  async subscribe(room: string, peerName: string, handlers: SubscribeHandlers): Promise<SubscribeSession> {
    const session = await this.session();
    const s = this.track({ close: () => session.destroy() });
    try {
      const roomId = await this.room(room, session);
      let subscriber: JanusHandle | undefined;
      /** Feeds known, and those the subscriber handle already receives. */
      const feeds = new Set<number>();
      const subscribed = new Set<number>();
      let queue: Promise<void> = Promise.resolve();
      const chain = (step: () => Promise<void>): void => {
        queue = queue.then(step).catch((e: unknown) => handlers.onError?.(`${peerName}: ${errorText(e)}`));
      };
      const answer = async (h: JanusHandle, offer: JanusJsep): Promise<void> => {
        const sdp = await handlers.onOffer(offer.sdp);
        await h.message({ request: 'start' }, { type: 'answer', sdp });
        h.trickleCompleted();
      };
      const addNewFeeds = async (): Promise<void> => {
        const added = [...feeds].filter((f) => !subscribed.has(f));
        if (!subscriber || added.length === 0) return;
        for (const f of added) subscribed.add(f);
        const r = await subscriber.message({ request: 'subscribe', streams: added.map((feed) => ({ feed })) });
        if (r.jsep?.type === 'offer') await answer(subscriber, r.jsep);
      };

      const observer = await session.attach(PLUGIN);
      let firstFeeds: (() => void) | undefined;
      observer.on('event', (data) => {
        const before = feeds.size;
        for (const f of feedsOf(data.publishers)) feeds.add(f);
        if (feeds.size > before) {
          firstFeeds?.();
          chain(addNewFeeds);
        }
      });
      const joined = await observer.message({ request: 'join', ptype: 'publisher', room: roomId, display: `${peerName} (observer)` });
      for (const f of feedsOf(joined.data.publishers)) feeds.add(f);
      if (feeds.size === 0)
        await this.waitFor(
          new Promise<void>((r) => {
            firstFeeds = r;
          }),
          `publisher in room ${room} for ${peerName}`,
        );

      const h = await session.attach(PLUGIN);
      h.on('hangup', (reason) => handlers.onError?.(`janus hung up the subscriber ${peerName}: ${reason}`));
      // Renegotiations Janus starts itself (a feed went away): answered in order like the rest.
      h.on('event', (_data, jsep) => {
        if (jsep?.type === 'offer') chain(() => answer(h, jsep));
      });
      const initial = [...feeds];
      for (const f of initial) subscribed.add(f);
      const attached = await h.message({ request: 'join', ptype: 'subscriber', room: roomId, streams: initial.map((feed) => ({ feed })) });
      if (attached.jsep?.type !== 'offer')
        throw new SwitchboardError(
          InternalErrorCode.Malformed,
          `janus join (subscriber ${peerName}): no offer in ${JSON.stringify(attached.data)}`,
        );
      await answer(h, attached.jsep);
      subscriber = h;
      // Feeds announced while the subscriber was joining.
      chain(addNewFeeds);
      return { close: () => s.close() };
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.sessions].map((s) => s.close()));
    if (this.conn) await (await this.conn.catch(() => undefined))?.close();
  }

  private track(inner: { close(): Promise<void> }): { close(): Promise<void> } {
    let closing: Promise<void> | undefined;
    const s = {
      close: () => {
        closing ??= inner.close().finally(() => this.sessions.delete(s));
        return closing;
      },
    };
    this.sessions.add(s);
    return s;
  }

  private async session(): Promise<JanusSession> {
    if (this.closed) throw new SwitchboardError(InternalErrorCode.Closed, 'janus driver closed');
    this.conn ??= JanusConnection.open(this.opts.url.href, this.opts.timeoutMs, this.opts.timeoutMs);
    return (await this.conn).createSession();
  }

  /** The room's numeric id, created on first use by any session of this driver. */
  private room(name: string, session: JanusSession): Promise<number> {
    let p = this.rooms.get(name);
    if (!p) {
      p = this.ensureRoom(janusRoomId(name), session);
      this.rooms.set(name, p);
      p.catch(() => this.rooms.delete(name));
    }
    return p;
  }

  private async ensureRoom(id: number, session: JanusSession): Promise<number> {
    const h = await session.attach(PLUGIN);
    try {
      const exists = await h.message({ request: 'exists', room: id });
      if (exists.data.exists === true) return id;
      try {
        await h.message({
          request: 'create',
          room: id,
          description: `switchboard loadtest ${id}`,
          is_private: true,
          permanent: false,
          publishers: 100,
          bitrate: 0,
          audiocodec: 'opus',
          videocodec: 'vp8',
          notify_joining: false,
          ...this.opts.roomSettings,
        });
      } catch (e) {
        if (!(e instanceof Error && 'code' in e && (e as { code: number }).code === ERR_ROOM_EXISTS)) throw e;
      }
      return id;
    } finally {
      await h.detach();
    }
  }

  private waitFor(p: Promise<void>, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SwitchboardError(InternalErrorCode.Unavailable, `janus: no ${what} within ${this.opts.timeoutMs} ms`)),
          this.opts.timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  }
}
