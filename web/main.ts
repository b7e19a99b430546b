/**
 * Switchboard web app entry.
 *
 * URL: `/?room=R&name=N&topology=mesh` joins room R with camera and microphone (a lobby form is
 * shown when `room` is missing). `?identity=X` asks for identity X (open-mode servers), `?token=JWT`
 * authenticates (servers with an auth secret), `?video=WxH` caps the camera resolution, `?layering=simulcast|svc`
 * publishes the camera in SFU rooms as 3 simulcast layers or VP9 L3T3 SVC, `?relay=1`
 * sends media only through TURN, `?mute=audio` (or `video`, `audio,video`) joins with those turned off.
 *
 * Debug / test handle — `window.switchboard` (stable; the e2e tests drive the page through it):
 *   room: Room | null                 the joined room (SDK object), null in the lobby or after leave
 *   calls: CallClient                 the 1:1 call client
 *   signaling: SignalingClient, media: LocalMedia
 *   ready: Promise<void>              resolves once joined (room pages) or connected (lobby / calls)
 *   mediaProblems: MediaProblem[]     why the camera/mic is not sent (denied, not found…)
 *   remoteStats(): Promise<RemoteStat[]>   one entry per remote participant:
 *       { participantId, name, videoFramesDecoded, videoWidth, videoHeight, audioEnergy,
 *         localCandidateType, remoteCandidateType, localRelayProtocol, connectionState,
 *         bitrateInKbps, bitrateOutKbps, rttMs, videoCodec, audioCodec,
 *         remoteCandidateAddress, remoteCandidatePort, nackCount, retransmittedPacketsReceived,
 *         reportedRttMs, senderReportsReceived }
 *       (SFU rooms: the connection is the shared subscribe connection to the server)
 *   publishStats(): Promise<PeerStats | null>   SFU rooms: our publish connection to the server
 *       (remoteCandidateAddress/Port of its selected pair…); null in mesh rooms
 *   topology: 'mesh' | 'sfu' | … | null   the topology the server chose for the room
 *   activeSpeaker: string | null      SFU rooms: participant id of the active speaker (ours when we speak)
 *   speakerChanges: { participantId, at }[]   every active-speaker change the page saw (at = Date.now())
 *   setMuted(kind: 'audio'|'video', muted): void   as the mute buttons do
 *   sendChat(text): void              chat line to everyone in the room
 *   chatLog: { from, name, text, local }[]   every line sent or received (from = participant id)
 *   sendFile(name, bytes: Uint8Array): Promise<{ sha256, failures }>   to everyone in the room
 *   receivedFiles: { name, size, sha256, ok, from }[]   sha256 is the hash computed on arrival
 *   leave(): Promise<void>
 *   call(identity): Promise<void>     places a 1:1 call (rejects with CallError, e.g. code 'busy')
 *   acceptCall(), rejectCall(), cancelCall(), hangup()
 *   callState: 'idle'|'outgoing'|'incoming'|'connecting'|'connected'
 *   callEndReason: CallEndReason | null     why the last call ended (rejected, busy, timeout…)
 *   callStats(): Promise<(PeerStats & { connectionState }) | null>
 * Tests may click the UI instead (e.g. `#call-accept`, `#call-reject`, `#call-hangup`).
 */
import {
  CallClient,
  CallError,
  LocalMedia,
  Room,
  SignalingClient,
  type ChatMessage,
  type MediaProblem,
  type PeerStats,
  type RemoteParticipant,
} from '../client/index.js';
import type { CallEndReason, McuLayout } from '../src/protocol/index.js';
import { hideBanner, showBanner } from './banners.js';
import { CallPanel } from './call-panel.js';
import { ChatPanel } from './chat.js';
import { Controls } from './controls.js';
import { byId, h } from './dom.js';
import { FilesPanel } from './files.js';
import { VideoGrid } from './grid.js';
import { readParams } from './params.js';
import { formatStats } from './stats-view.js';
import type { MediaKind } from '../src/protocol/index.js';

export interface RemoteStat extends PeerStats {
  participantId: string;
  name: string;
  connectionState: RTCPeerConnectionState;
}

export interface ReceivedFileInfo {
  name: string;
  size: number;
  sha256: string;
  ok: boolean;
  from: string;
}

const params = readParams();
const signaling = new SignalingClient({
  ...(params.identity ? { identity: params.identity } : {}),
  ...(params.name ? { name: params.name } : {}),
  ...(params.token ? { token: params.token } : {}),
});
const media = new LocalMedia();
const calls = new CallClient(signaling, media, {
  iceTransportPolicy: params.iceTransportPolicy,
  ...(params.relayTransport ? { relayTransport: params.relayTransport } : {}),
});
const grid = new VideoGrid(byId('grid'), () =>
  showBanner('autoplay', 'info', 'Your browser blocked sound until you interact with the page.', {
    label: 'Enable sound',
    run: () => grid.playAll(),
  }),
);

let room: Room | null = null;
const chatLog: Array<{ from: string; name: string; text: string; local: boolean }> = [];
const receivedFiles: ReceivedFileInfo[] = [];
const speakerChanges: Array<{ participantId: string | null; at: number }> = [];
let statsTimer: ReturnType<typeof setInterval> | null = null;

// ---- media ---------------------------------------------------------------------------------

let mediaStarted: Promise<MediaProblem[]> | null = null;

/** Opens camera + mic once (the browser asks permission) and shows the local tile. */
function startMedia(): Promise<MediaProblem[]> {
  if (!mediaStarted) {
    if (params.muted.audio) media.setMuted('audio', true);
    if (params.muted.video) media.setMuted('video', true);
  }
  mediaStarted ??= media.start({ audio: true, video: params.video }).then((problems) => {
    for (const p of problems) showBanner(`media-${p.kind}`, p.kind === 'denied' || p.kind === 'insecure' ? 'error' : 'warn', p.message);
    showStage();
    const tile = grid.add('local', { name: params.name ?? signaling.welcome?.name ?? 'You', local: true });
    tile.attach(media.stream);
    media.on('tracks-changed', () => tile.attach(media.stream));
    if (problems.length) tile.setBadges(['receive-only']);
    return problems;
  });
  return mediaStarted;
}

function showStage(): void {
  byId('lobby').hidden = true;
  byId('grid').hidden = false;
  byId('controls').hidden = false;
}

// ---- room ----------------------------------------------------------------------------------

const chat = new ChatPanel((text) => room?.sendChat(text));
const files = new FilesPanel((file) => {
  void file.arrayBuffer().then((buf) => sendFile(file.name, new Uint8Array(buf)));
});

async function sendFile(name: string, bytes: Uint8Array): Promise<{ sha256: string; failures: string[] }> {
  if (!room) throw new Error('not in a room');
  const res = await room.sendFile(name, bytes);
  files.sent(res.id, name, res.failures);
  return { sha256: res.sha256, failures: res.failures };
}

function renderPeople(): void {
  const list = byId('people');
  list.replaceChildren();
  const ps = room ? [...room.participants.values()] : [];
  for (const p of ps) {
    list.append(
      h(
        'li',
        { 'data-participant-id': p.id },
        h('span', { text: p.name || p.identity }),
        h('span', { class: 'conn-state', 'data-state': p.connectionState, text: p.connectionState }),
      ),
    );
  }
  byId('people-count').textContent = String(ps.length + (room ? 1 : 0));
}

function addParticipantTile(p: RemoteParticipant): void {
  // An MCU room shows everyone in one composed picture (the mix tile), not a tile each.
  if (room?.topology === 'mcu') return;
  const tile = grid.add(`p:${p.id}`, { name: p.name || p.identity, attrs: { 'data-participant-id': p.id } });
  tile.setState(p.connectionState);
  tile.attach(p.stream);
  p.on('track', () => tile.attach(p.stream));
  p.on('track-removed', () => tile.attach(p.stream));
  p.on('connection-state', (s) => {
    tile.setState(s);
    renderPeople();
  });
  tile.observeSize((width, height) => room?.setVideoRenderSize(p.id, width, height));
}

async function joinRoom(name: string): Promise<void> {
  for (const id of ['chat-panel', 'files-panel', 'people-panel']) byId(id).hidden = false;
  byId('room-title').textContent = name;
  document.title = `${name} · Switchboard`;
  await startMedia();
  const r = new Room(signaling, media, {
    room: name,
    topology: params.topology,
    iceTransportPolicy: params.iceTransportPolicy,
    videoLayering: params.videoLayering,
    ...(params.relayTransport ? { relayTransport: params.relayTransport } : {}),
  });
  room = r;
  r.on('participant-joined', (p) => {
    addParticipantTile(p);
    renderPeople();
    chat.system(`${p.name || p.identity} joined`);
  });
  r.on('participant-left', ({ participant, reason }) => {
    grid.remove(`p:${participant.id}`);
    renderPeople();
    chat.system(`${participant.name || participant.identity} ${reason === 'left' ? 'left' : 'disconnected'}`);
  });
  r.on('chat', (m: ChatMessage) => {
    chatLog.push({ from: m.from, name: m.name, text: m.text, local: m.local });
    chat.add(m);
  });
  // In an SFU or MCU room a file goes up once (peerId 'sfu') and the server fans it out.
  r.on('file-progress', (p) =>
    files.progress(
      p,
      r.participants.get(p.peerId)?.name ?? 'someone',
      r.participants.size,
      r.topology !== 'mesh' ? 1 : r.participants.size,
    ),
  );
  r.on('active-speaker', ({ participantId, local }) => {
    speakerChanges.push({ participantId, at: Date.now() });
    grid.setSpeaker(participantId === null ? null : local ? 'local' : `p:${participantId}`);
  });
  r.on('transport-error', ({ message }) => showBanner('transport', 'error', `Media connection problem: ${message}`));
  r.on('file-received', ({ from, file }) => {
    receivedFiles.push({ name: file.name, size: file.size, sha256: file.actualSha256, ok: file.ok, from: from.id });
    files.received(file, from.id, from.name);
  });
  const joined = await r.join();
  const topo = byId('topology-label');
  topo.textContent = joined.topology;
  topo.dataset.topology = joined.topology;
  topo.hidden = false;
  if (joined.topology === 'mcu') showMix(r);
  renderPeople();
}

/** MCU rooms: one tile with the server's mix for us, and the layout picker. */
function showMix(r: Room): void {
  const mix = r.mix;
  if (!mix) return;
  const tile = grid.add('mix', { name: 'Room', attrs: { 'data-mix': 'true' } });
  tile.attach(mix.remoteStream);
  mix.on('track', () => tile.attach(mix.remoteStream));
  mix.on('track-removed', () => tile.attach(mix.remoteStream));
  mix.on('connection-state', (s) => tile.setState(s));
  const field = byId('mcu-layout-field');
  field.hidden = false;
  const select = byId<HTMLSelectElement>('mcu-layout');
  select.onchange = () => r.setLayout(select.value as McuLayout);
}

async function leaveRoom(): Promise<void> {
  const r = room;
  if (!r) return;
  room = null;
  await r.leave(); // emits participant-left for everyone, which removes their tiles
  media.stop();
  grid.remove('local');
  grid.remove('mix');
  byId('mcu-layout-field').hidden = true;
  mediaStarted = null;
  renderPeople();
  showBanner('left', 'info', `You left ${r.name}.`, { label: 'Rejoin', run: () => location.reload() });
}

// ---- stats overlay -------------------------------------------------------------------------

async function remoteStats(): Promise<RemoteStat[]> {
  if (!room) return [];
  return Promise.all(
    [...room.participants.values()].map(async (p) => ({
      ...(await p.stats()),
      participantId: p.id,
      name: p.name,
      connectionState: p.connectionState,
    })),
  );
}

function toggleStats(on: boolean): void {
  if (statsTimer) clearInterval(statsTimer);
  statsTimer = null;
  for (const t of grid.all()) t.setStats(null);
  if (!on) return;
  const tick = async (): Promise<void> => {
    for (const s of await remoteStats()) grid.get(`p:${s.participantId}`)?.setStats(formatStats(s, s.connectionState));
    const cs = await calls.stats();
    if (cs) grid.get('call')?.setStats(formatStats(cs, calls.connectionState ?? 'new'));
  };
  void tick();
  statsTimer = setInterval(() => void tick(), 1000);
}

new Controls(media, { leave: () => void leaveRoom(), toggleStats });

// ---- 1:1 calls -------------------------------------------------------------------------------

const callPanel = new CallPanel(calls, {
  call: (identity) => void placeCall(identity).catch(() => undefined),
  accept: () => void acceptCall(),
  reject: () => calls.reject(),
  cancel: () => calls.cancel(),
  hangup: () => calls.hangup(),
});

async function placeCall(identity: string): Promise<void> {
  callPanel.target = identity;
  await startMedia();
  try {
    await calls.call(identity);
  } catch (err) {
    // `busy` is already shown by the `ended` event; other failures are explained here.
    if (!(err instanceof CallError && err.code === 'busy')) {
      callPanel.error(err instanceof CallError ? `Call failed: ${err.message}` : `Call failed: ${String(err)}`);
    }
    throw err;
  }
}

async function acceptCall(): Promise<void> {
  await startMedia();
  calls.accept();
}

calls.on('state', (s) => {
  if ((s === 'connecting' || s === 'connected') && !grid.get('call')) {
    const peer = calls.currentCall?.peer;
    const tile = grid.add('call', {
      name: peer ? peer.name || peer.identity : 'call',
      attrs: { 'data-call-id': calls.currentCall?.callId ?? '' },
    });
    tile.setState('connecting');
    const stream = calls.remoteStream;
    if (stream) tile.attach(stream);
  }
});
calls.on('track', () => {
  const s = calls.remoteStream;
  if (s) grid.get('call')?.attach(s);
});
calls.on('connection-state', (s) => grid.get('call')?.setState(s));
calls.on('ended', () => {
  grid.remove('call');
  if (!room && !params.room) {
    // Back to the lobby: release the camera and microphone when no room needs them.
    media.stop();
    grid.remove('local');
    mediaStarted = null;
    byId('grid').hidden = true;
    byId('controls').hidden = true;
    byId('lobby').hidden = false;
  }
});

// ---- boot ------------------------------------------------------------------------------------

signaling.on('state', (s) => {
  const pill = byId('signal-state');
  pill.dataset.state = s;
  pill.textContent = s === 'open' ? 'online' : s;
  if (s === 'reconnecting') showBanner('signal', 'warn', 'Connection to the server lost — reconnecting…');
  else if (s === 'open') hideBanner('signal');
});
signaling.on('session-lost', () => showBanner('session', 'warn', 'Your session was restarted; reconnecting to everyone.'));

function showLobby(): void {
  const form = byId<HTMLFormElement>('lobby');
  form.hidden = false;
  const nameInput = form.elements.namedItem('name') as HTMLInputElement;
  if (params.name) nameInput.value = params.name;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const q = new URLSearchParams(location.search);
    for (const k of ['room', 'name', 'topology'] as const) {
      const entry = data.get(k);
      const v = typeof entry === 'string' ? entry.trim() : '';
      if (v) q.set(k, v);
      else q.delete(k);
    }
    location.search = q.toString();
  });
}

async function boot(): Promise<void> {
  if (!params.room) showLobby();
  const welcome = await signaling.connect();
  byId('identity-label').textContent = welcome.identity;
  callPanel.setIdentity(welcome.identity);
  if (params.room) await joinRoom(params.room);
}

const ready = boot();
ready.catch((err: unknown) => {
  console.error('[switchboard] startup failed', err);
  showBanner('boot', 'error', `Could not connect: ${err instanceof Error ? err.message : String(err)}`, {
    label: 'Retry',
    run: () => location.reload(),
  });
});

// Leaving explicitly lets the others drop our tile at once instead of after the resume grace.
window.addEventListener('pagehide', () => {
  if (room) void room.leave();
  calls.hangup();
  signaling.close();
});

const handle = {
  get room(): Room | null {
    return room;
  },
  get topology(): string | null {
    return room?.topology ?? null;
  },
  get activeSpeaker(): string | null {
    return room?.activeSpeaker ?? null;
  },
  /** MCU rooms: the mixed stream the server sends us, and how to ask for another layout. */
  get mixStream(): MediaStream | null {
    return room?.mix?.remoteStream ?? null;
  },
  setLayout: (layout: McuLayout): void => room?.setLayout(layout),
  speakerChanges,
  setMuted: (kind: MediaKind, muted: boolean): void => media.setMuted(kind, muted),
  calls,
  signaling,
  media,
  ready,
  get mediaProblems(): MediaProblem[] {
    return media.problems;
  },
  remoteStats,
  publishStats: (): Promise<PeerStats | null> => room?.publishStats() ?? Promise.resolve(null),
  sendChat(text: string): void {
    if (!room) throw new Error('not in a room');
    room.sendChat(text);
  },
  chatLog,
  sendFile,
  receivedFiles,
  leave: leaveRoom,
  call: placeCall,
  acceptCall,
  rejectCall: (): void => calls.reject(),
  cancelCall: (): void => calls.cancel(),
  hangup: (): void => calls.hangup(),
  get callState(): string {
    return calls.state;
  },
  get callEndReason(): CallEndReason | null {
    return calls.lastEnd?.reason ?? null;
  },
  async callStats(): Promise<(PeerStats & { connectionState: RTCPeerConnectionState | null }) | null> {
    const s = await calls.stats();
    return s ? { ...s, connectionState: calls.connectionState } : null;
  },
};

declare global {
  interface Window {
    switchboard: typeof handle;
  }
}
window.switchboard = handle;
