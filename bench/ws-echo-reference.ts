/**
 * THE REFERENCE for bench/signaling.ts: the least work a WebSocket signaling relay can do,
 * on the same `ws` library and Node version as Switchboard, with no validation, no rate
 * limiting, no metrics, no logging.
 *
 *   relay path (what is measured): JSON.parse the frame → look up `to` in one Map of
 *   sockets → copy without `to`, add `from` → JSON.stringify → send. Nothing else.
 *
 * Setup messages are answered just enough for the same load generator to drive both servers:
 * `hello` → `welcome {sessionId}`, `join {room}` → `joined {self, participants}` plus a
 * `participant-joined` to the others (one Map of rooms). They happen once per client, before
 * measurement. Usage: node dist/bench/ws-echo-reference.js [--port 0] [--host 127.0.0.1]
 */
import { WebSocketServer, type WebSocket } from 'ws';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const port = Number(arg('port', '0'));
const host = arg('host', '127.0.0.1');

interface Peer {
  id: string;
  identity: string;
  name: string;
  room?: string;
}

const sockets = new Map<string, WebSocket>();
const peers = new Map<WebSocket, Peer>();
const rooms = new Map<string, Set<WebSocket>>();
let nextId = 1;

const wss = new WebSocketServer({ host, port, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  const id = `r${nextId++}`;
  const peer: Peer = { id, identity: id, name: id };
  sockets.set(id, ws);
  peers.set(ws, peer);

  // binaryType is ws's default ('nodebuffer'): every message arrives as one Buffer.
  ws.on('message', (data: Buffer) => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data.toString()) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof msg.to === 'string') {
      // ---- the relay: the only hot path ----
      const target = sockets.get(msg.to);
      if (!target) return;
      // A fresh object rather than `delete msg.to`: delete drops V8's fast properties and
      // makes JSON.stringify ~20 % slower — the reference must not be needlessly slow.
      const { to: _to, ...rest } = msg;
      rest.from = id;
      target.send(JSON.stringify(rest));
      return;
    }
    if (msg.type === 'hello') {
      if (typeof msg.identity === 'string') peer.identity = msg.identity;
      if (typeof msg.name === 'string') peer.name = msg.name;
      ws.send(JSON.stringify({ type: 'welcome', ref: msg.id, sessionId: id, identity: peer.identity, name: peer.name }));
    } else if (msg.type === 'join' && typeof msg.room === 'string') {
      const room = msg.room;
      let members = rooms.get(room);
      if (!members) rooms.set(room, (members = new Set()));
      const info = (p: Peer) => ({ id: p.id, identity: p.identity, name: p.name });
      const self = info(peer);
      const others = [...members].map((s) => info(peers.get(s)!));
      const note = JSON.stringify({ type: 'participant-joined', room, participant: self });
      for (const s of members) s.send(note);
      members.add(ws);
      peer.room = room;
      ws.send(JSON.stringify({ type: 'joined', ref: msg.id, room, topology: 'mesh', self, participants: others }));
    }
  });

  ws.on('close', () => {
    sockets.delete(id);
    peers.delete(ws);
    if (peer.room) rooms.get(peer.room)?.delete(ws);
  });
});

wss.on('listening', () => {
  const a = wss.address();
  const p = typeof a === 'object' && a ? a.port : port;
  process.stdout.write(`Reference ws relay listening on http://${host}:${p}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    for (const ws of peers.keys()) ws.terminate();
    wss.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
