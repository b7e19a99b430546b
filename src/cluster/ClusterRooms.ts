/**
 * Signaling rooms that span nodes (signaling's RoomFederation, over the Redis layer): each node
 * keeps its own members; this class tells the other nodes about them and keeps, per room, the
 * members connected elsewhere (the room's remote roster).
 *
 * A join (this node's member M into room R):
 *  1. R's record is claimed or read (RoomPlacement.placeRoom): its topology is the cluster's.
 *  2. This node subscribes to R's channel and waits until Redis confirmed it, so that nothing
 *     said in R from then on is missed; then counts M in R (SET_MEMBERS).
 *  3. This node's roster goes to R's channel with `sync`: every node with members in R answers
 *     with its own (`roster`, to this node). The join waits (at most `rosterWaitMs`) for the
 *     nodes the record lists with members in R (read after step 2).
 *  4. M's identity is checked against the members elsewhere; then `member-joined` goes to R's
 *     channel (their members hear `participant-joined`) and M gets `joined` with everyone.
 *  Two nodes joining at once find each other: a node subscribed before the other's
 *  announcement receives it; otherwise the other announced before this node's roster request
 *  and its answer lists the member. A node that does not answer in time is left out of M's
 *  `joined`; its members are added when its roster or announcements arrive (this node's members
 *  hear `participant-joined`). A refused join was never announced: nobody hears of it.
 *
 * Identities are unique per room across nodes: a join whose identity is already a remote
 * member's is refused (`identity-in-use`); two joins racing on two nodes are settled when each
 * node learns of the other: the later (joinedAt, then node id) is evicted by its own node, and
 * both nodes decide alike.
 *
 * Failures: a node's members are dropped (reason `node-lost`) when the registry reports it gone
 * (`node-down`: at most 8 s after its last heartbeat) or lists it dead. While Redis is down, new
 * joins fail at once (`cluster-unavailable`); leaves and relays never wait (the bus queues them,
 * bounded, and sends them on reconnection). After an outage this node sends its rosters again
 * with `sync` and the others answer with theirs, which repairs what either side missed.
 */
import type { Logger } from 'pino';
import { ErrorCode, SwitchboardError, type ParticipantInfo, type ParticipantLeftReason } from '../protocol/index.js';
import type { RoomTopology } from '../protocol/media.js';
import type { FederatedJoin, FederationEvents, RelayedMessage, RoomFederation } from '../signaling/RoomFederation.js';
import { guarded } from '../util/guarded.js';
import type { BusEnvelope } from './bus-envelope.js';
import type { ClusterBus } from './ClusterBus.js';
import type { FederationMessages, RosterEntry } from './federation-messages.js';
import type { NodeRegistry } from './NodeRegistry.js';
import type { RedisConnection } from './RedisConnection.js';
import type { RoomPlacement } from './RoomPlacement.js';

/** How long a join waits for the rosters of the other nodes with members in the room. */
export const DEFAULT_ROSTER_WAIT_MS = 1500;
/** Members of one room on other nodes that this node keeps; beyond it announcements are dropped. */
export const MAX_REMOTE_MEMBERS = 10_000;

export interface ClusterRoomsOptions {
  connection: RedisConnection;
  registry: NodeRegistry;
  placement: RoomPlacement;
  bus: ClusterBus<FederationMessages>;
  rosterWaitMs?: number;
  logger?: Logger | undefined;
}

export interface ClusterRoomsStats {
  joins: number;
  /** Joins refused because Redis could not be reached. */
  joinsUnavailable: number;
  /** Joins that went on without the roster of some node (it did not answer in time). */
  rosterTimeouts: number;
  /** Remote members dropped because their node was lost. */
  membersLost: number;
  /** Local members taken out of a room because their identity joined first on another node. */
  evictions: number;
  relaysSent: number;
  /** Bus messages that were valid but named a room, member or sender this node does not know. */
  ignored: number;
  /** Announcements dropped because a room already had MAX_REMOTE_MEMBERS remote members. */
  overLimit: number;
}

interface RemoteMember extends RosterEntry {
  node: string;
}

interface RosterWait {
  /** Nodes whose roster came (or that were lost) since the join asked. */
  answered: Set<string>;
  /** Nodes whose roster the join still waits for, once it knows which (the room's record read). */
  nodes: Set<string> | undefined;
  done(): void;
}

interface FederatedRoom {
  /** This node's members, joins in progress included (they are announced before they complete). */
  local: Map<string, RosterEntry>;
  /** Ids in `local` whose join is in progress. */
  joining: Set<string>;
  remote: Map<string, RemoteMember>;
  waits: Set<RosterWait>;
}

export class ClusterRooms implements RoomFederation {
  readonly stats: ClusterRoomsStats = {
    joins: 0,
    joinsUnavailable: 0,
    rosterTimeouts: 0,
    membersLost: 0,
    evictions: 0,
    relaysSent: 0,
    ignored: 0,
    overLimit: 0,
  };
  private readonly connection: RedisConnection;
  private readonly registry: NodeRegistry;
  private readonly placement: RoomPlacement;
  private readonly bus: ClusterBus<FederationMessages>;
  private readonly rosterWaitMs: number;
  private readonly logger: Logger | undefined;
  private readonly rooms = new Map<string, FederatedRoom>();
  /** Nodes reported gone, until they heartbeat again: a join does not wait for their roster. */
  private readonly lostNodes = new Set<string>();
  private events: FederationEvents | undefined;
  private readyBefore = false;
  private closed = false;
  private readonly onMessage = guarded('cluster.rooms.message', (e: BusEnvelope<FederationMessages>) => this.receive(e));
  private readonly onNodeDown = guarded('cluster.rooms.node-down', (id: string) => this.nodeLost(id));
  private readonly onDeadNodes = guarded('cluster.rooms.dead-nodes', (ids: string[]) => {
    for (const id of ids) this.nodeLost(id);
  });
  private readonly onNodeUp = guarded('cluster.rooms.node-up', (info: { id: string }) => this.lostNodes.delete(info.id));
  private readonly onReady = guarded('cluster.rooms.ready', () => this.resyncAfterOutage());

  constructor(options: ClusterRoomsOptions) {
    this.connection = options.connection;
    this.registry = options.registry;
    this.placement = options.placement;
    this.bus = options.bus;
    this.rosterWaitMs = options.rosterWaitMs ?? DEFAULT_ROSTER_WAIT_MS;
    this.logger = options.logger;
    this.readyBefore = this.connection.isReady;
    this.bus.on('message', this.onMessage);
    this.registry.on('node-down', this.onNodeDown);
    this.registry.on('dead-nodes', this.onDeadNodes);
    this.registry.on('node-up', this.onNodeUp);
    this.connection.on('ready', this.onReady);
  }

  attach(events: FederationEvents): void {
    this.events = events;
  }

  async join(room: string, member: ParticipantInfo, topology: RoomTopology): Promise<FederatedJoin> {
    if (this.closed) throw new SwitchboardError(ErrorCode.ClusterUnavailable, 'this node is leaving the cluster');
    if (!this.connection.isReady) {
      this.stats.joinsUnavailable++;
      throw new SwitchboardError(ErrorCode.ClusterUnavailable, 'the cluster store (Redis) cannot be reached; try again shortly');
    }
    const entry: RosterEntry = { member, joinedAt: Date.now() };
    const state = this.roomState(room);
    state.local.set(member.id, entry);
    state.joining.add(member.id);
    let counted = false;
    let announced = false;
    let wait: RosterWait | undefined;
    try {
      const { record } = await this.placement.placeRoom(room, topology);
      await this.bus.joinRoom(room);
      // addMember counts the member before it writes: a failed write is undone like a successful one.
      counted = true;
      const current = await this.placement.addMember(record);
      // Ask every node in the room for its members (the newcomer is not announced yet); answers
      // that come before the room's record is read count too.
      wait = this.startRosterWait(state);
      this.sendRoster('', room, state, true);
      const members = (await this.placement.room(room))?.members ?? new Map<string, number>();
      await this.finishRosterWait(state, wait, members);
      // A remote member with this identity was there first (or is the earlier of a race): refused, never announced.
      for (const other of state.remote.values()) {
        if (other.member.identity === member.identity && this.precedes(other, other.node, entry, this.registry.id)) {
          throw new SwitchboardError(
            ErrorCode.IdentityInUse,
            `identity "${member.identity}" is in room "${room}" on another node`,
            'identity',
          );
        }
      }
      state.joining.delete(member.id);
      this.bus.sendToRoom(room, 'member-joined', { room, member, joinedAt: entry.joinedAt });
      announced = true;
      this.stats.joins++;
      return { topology: current.topology, remote: [...state.remote.values()].map((m) => m.member) };
    } catch (err) {
      if (wait) state.waits.delete(wait);
      this.undoJoin(room, member.id, counted, announced);
      if (err instanceof SwitchboardError && err.isClientError) throw err;
      this.stats.joinsUnavailable++;
      this.logger?.warn({ room, err: (err as Error).message }, 'cluster join failed');
      throw new SwitchboardError(ErrorCode.ClusterUnavailable, 'the cluster could not place you in the room; try again shortly');
    }
  }

  leave(room: string, participantId: string, reason: ParticipantLeftReason): void {
    const state = this.rooms.get(room);
    if (!state?.local.delete(participantId)) return;
    this.placement.removeMember(room).catch((err: unknown) => {
      this.logger?.debug({ room, err: (err as Error).message }, 'cluster leave not written yet; written on reconnection');
    });
    this.publish(() =>
      this.bus.sendToRoom(room, 'member-left', { room, id: participantId, reason: reason === 'disconnected' ? 'disconnected' : 'left' }),
    );
    this.dropIfUnused(room, state);
  }

  remoteMembers(room: string): ParticipantInfo[] {
    const state = this.rooms.get(room);
    return state ? [...state.remote.values()].map((m) => m.member) : [];
  }

  isRemoteMember(room: string, participantId: string): boolean {
    return this.rooms.get(room)?.remote.has(participantId) ?? false;
  }

  relay(room: string, to: string, message: RelayedMessage): void {
    const target = this.rooms.get(room)?.remote.get(to);
    if (!target) throw new SwitchboardError(ErrorCode.PeerNotFound, `no peer "${to}" in your room or call`, 'to');
    try {
      this.bus.sendToNode(target.node, 'relay', { room, to, message });
    } catch (err) {
      if (err instanceof SwitchboardError && err.code === 'invalid-argument')
        throw new SwitchboardError(ErrorCode.MessageTooLarge, 'the message is too large to reach a peer on another node');
      throw err;
    }
    this.stats.relaysSent++;
  }

  /**
   * Stops listening. The other nodes hear at once that this node's members are gone
   * (`member-left`, `disconnected`: their clients reconnect elsewhere) instead of at their next
   * read of the registry; the memberships in Redis are removed by NodeRegistry.unregister().
   */
  close(): void {
    if (this.closed) return;
    for (const [room, state] of this.rooms) {
      for (const id of state.local.keys()) {
        if (!state.joining.has(id)) this.publish(() => this.bus.sendToRoom(room, 'member-left', { room, id, reason: 'disconnected' }));
      }
    }
    this.closed = true;
    this.bus.off('message', this.onMessage);
    this.registry.off('node-down', this.onNodeDown);
    this.registry.off('dead-nodes', this.onDeadNodes);
    this.registry.off('node-up', this.onNodeUp);
    this.connection.off('ready', this.onReady);
    for (const state of this.rooms.values()) for (const w of state.waits) w.done();
  }

  // ---- joins -------------------------------------------------------------------------------

  private roomState(room: string): FederatedRoom {
    let state = this.rooms.get(room);
    if (!state) {
      state = { local: new Map(), joining: new Set(), remote: new Map(), waits: new Set() };
      this.rooms.set(room, state);
    }
    return state;
  }

  /** From now on, rosters that reach this node for `state`'s room are recorded for a join. */
  private startRosterWait(state: FederatedRoom): RosterWait {
    const wait: RosterWait = { answered: new Set(), nodes: undefined, done: () => state.waits.delete(wait) };
    state.waits.add(wait);
    return wait;
  }

  /** Waits (at most rosterWaitMs) until every node listed with members in `members` answered or was lost. */
  private async finishRosterWait(state: FederatedRoom, wait: RosterWait, members: Map<string, number>): Promise<void> {
    const nodes = new Set<string>();
    for (const [node, count] of members) {
      if (node !== this.registry.id && count > 0 && !this.lostNodes.has(node) && !wait.answered.has(node)) nodes.add(node);
    }
    if (nodes.size === 0) {
      wait.done();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(
        guarded('cluster.rooms.roster-wait', () => {
          this.stats.rosterTimeouts++;
          this.logger?.info({ nodes: [...nodes] }, 'cluster join: no roster from some nodes in time; joined without them');
          wait.done();
        }),
        this.rosterWaitMs,
      );
      wait.nodes = nodes;
      wait.done = () => {
        clearTimeout(timer);
        state.waits.delete(wait);
        resolve();
      };
    });
  }

  /** `node` answered (or is gone): joins waiting for it may complete. */
  private rosterCame(state: FederatedRoom, node: string): void {
    for (const w of [...state.waits]) {
      w.answered.add(node);
      if (!w.nodes) continue;
      w.nodes.delete(node);
      if (w.nodes.size === 0) w.done();
    }
  }

  private undoJoin(room: string, id: string, counted: boolean, announced: boolean): void {
    const state = this.rooms.get(room);
    if (!state) return;
    state.local.delete(id);
    state.joining.delete(id);
    if (counted) this.placement.removeMember(room).catch(() => undefined);
    if (announced) this.publish(() => this.bus.sendToRoom(room, 'member-left', { room, id, reason: 'left' }));
    this.dropIfUnused(room, state);
  }

  private dropIfUnused(room: string, state: FederatedRoom): void {
    if (state.local.size > 0 || state.waits.size > 0 || this.rooms.get(room) !== state) return;
    this.rooms.delete(room);
    this.bus.leaveRoom(room);
  }

  // ---- what other nodes say ----------------------------------------------------------------

  private receive(e: BusEnvelope<FederationMessages>): void {
    if (this.closed) return;
    const state = this.rooms.get(e.body.room);
    if (!state) {
      this.stats.ignored++;
      return;
    }
    switch (e.type) {
      case 'member-joined':
        this.addRemote(e.body.room, state, e.from, { member: e.body.member, joinedAt: e.body.joinedAt });
        break;
      case 'member-left': {
        const m = state.remote.get(e.body.id);
        if (!m || m.node !== e.from) {
          this.stats.ignored++;
          break;
        }
        state.remote.delete(e.body.id);
        this.events?.remoteLeft(e.body.room, e.body.id, e.body.reason);
        break;
      }
      case 'roster':
        this.replaceRoster(e.body.room, state, e.from, e.body.members);
        if (e.body.sync) this.sendRoster(e.from, e.body.room, state, false);
        this.rosterCame(state, e.from);
        break;
      case 'relay': {
        const from = state.remote.get(e.body.message.from);
        if (!from || from.node !== e.from || !state.local.has(e.body.to)) {
          this.stats.ignored++;
          break;
        }
        this.events?.deliver(e.body.room, e.body.to, e.body.message);
        break;
      }
    }
  }

  private addRemote(room: string, state: FederatedRoom, node: string, entry: RosterEntry): void {
    const id = entry.member.id;
    const known = state.remote.get(id);
    if (state.local.has(id) || (known && known.node !== node)) {
      this.stats.ignored++;
      return;
    }
    if (known) return;
    if (state.remote.size >= MAX_REMOTE_MEMBERS) {
      this.stats.overLimit++;
      return;
    }
    state.remote.set(id, { ...entry, node });
    this.settleIdentity(room, state, entry, node);
    this.events?.remoteJoined(room, entry.member);
  }

  /** `node`'s members of `room` are exactly `entries` now: joins and leaves for the difference. */
  private replaceRoster(room: string, state: FederatedRoom, node: string, entries: RosterEntry[]): void {
    const listed = new Set(entries.map((e) => e.member.id));
    for (const [id, m] of [...state.remote]) {
      if (m.node !== node || listed.has(id)) continue;
      state.remote.delete(id);
      this.events?.remoteLeft(room, id, 'disconnected');
    }
    for (const entry of entries) this.addRemote(room, state, node, entry);
  }

  /** A remote member shares an identity with a local one: the later of the two leaves (decided alike on both nodes). */
  private settleIdentity(room: string, state: FederatedRoom, remote: RosterEntry, node: string): void {
    for (const [id, local] of state.local) {
      if (local.member.identity !== remote.member.identity) continue;
      if (!this.precedes(remote, node, local, this.registry.id)) continue;
      // A join in progress finds the conflict itself when its rosters are in; a member already in the room leaves now.
      if (state.joining.has(id)) continue;
      this.stats.evictions++;
      this.logger?.info(
        { room, identity: local.member.identity, node },
        'cluster: identity joined earlier on another node; local member evicted',
      );
      this.events?.evict(room, id);
    }
  }

  /** Whether `a` (on node `na`) joined before `b` (on `nb`): earlier joinedAt, then the smaller node id. */
  private precedes(a: RosterEntry, na: string, b: RosterEntry, nb: string): boolean {
    return a.joinedAt < b.joinedAt || (a.joinedAt === b.joinedAt && na < nb);
  }

  /** This node's members of `room` (joins in progress are not announced yet) to `node`, or with `sync` to every node of the room. */
  private sendRoster(node: string, room: string, state: FederatedRoom, sync: boolean): void {
    const members = [...state.local.values()].filter((e) => !state.joining.has(e.member.id));
    this.publish(() =>
      sync ? this.bus.sendToRoom(room, 'roster', { room, members, sync }) : this.bus.sendToNode(node, 'roster', { room, members, sync }),
    );
  }

  private nodeLost(id: string): void {
    if (id === this.registry.id) return;
    this.lostNodes.add(id);
    if (this.lostNodes.size > 10_000) this.lostNodes.clear();
    for (const [room, state] of this.rooms) {
      this.rosterCame(state, id);
      for (const [pid, m] of [...state.remote]) {
        if (m.node !== id) continue;
        state.remote.delete(pid);
        this.stats.membersLost++;
        this.events?.remoteLeft(room, pid, 'node-lost');
      }
    }
  }

  /** After an outage: every room's roster again, asking the others for theirs (what either side missed). */
  private resyncAfterOutage(): void {
    if (!this.readyBefore) {
      this.readyBefore = true;
      return;
    }
    for (const [room, state] of this.rooms) if (state.local.size > 0) this.sendRoster('', room, state, true);
  }

  /** A bus send that must not throw into the caller (a leave, an answer): a failure is the bus's to count. */
  private publish(send: () => void): void {
    try {
      send();
    } catch (err) {
      this.logger?.debug({ err: (err as Error).message }, 'cluster bus send failed');
    }
  }
}
