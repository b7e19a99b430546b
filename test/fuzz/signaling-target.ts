/**
 * Hostile signaling at the live server: WebSocket clients that say hello (or not), join rooms of
 * every topology, then send valid messages with mutated values, prototype keys, deep nesting,
 * binary and oversize frames, and SDP offers (`sfu-offer`, relayed `offer`) cut and mutated
 * from real browser captures; plus random REST calls. Clients end cleanly, by reset, or not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { hostileValue, int, mutate, nestedJson, pick, randomBytes, type Rand } from './mutate.js';
import { wsText } from '../helpers/ws-text.js';

const SDP_DIR = fileURLToPath(new URL('../../../test/fixtures/sdp', import.meta.url));
const SDPS = readdirSync(SDP_DIR)
  .filter((f) => f.endsWith('.sdp'))
  .map((f) => readFileSync(join(SDP_DIR, f), 'utf8'));

const TYPES = [
  'hello',
  'resume',
  'join',
  'leave',
  'offer',
  'answer',
  'candidate',
  'end-of-candidates',
  'ping',
  'sfu-offer',
  'sfu-answer',
  'sfu-video-size',
  'sfu-video-source',
  'mcu-layout',
  'call-accept',
  'call-reject',
  'call-cancel',
  'call-hangup',
  'nope',
];

/** An SDP with lines dropped, repeated or bent: still SDP-shaped, rarely valid. */
function mutatedSdp(rand: Rand): string {
  const lines = pick(rand, SDPS).split(/\r?\n/);
  for (let n = 1 + int(rand, 6); n > 0; n--) {
    const at = int(rand, lines.length);
    const line = lines[at] ?? '';
    switch (int(rand, 5)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, line, line);
        break;
      case 2:
        lines[at] = mutate(rand, Buffer.from(line)).toString('latin1');
        break;
      case 3:
        lines[at] = line.replace(/\d+/g, () => String(pick(rand, [0, 65535, 65536, -1, 4294967296, 1e21])));
        break;
      default:
        lines.splice(
          at,
          0,
          pick(rand, [
            'a=rid:q send',
            'a=simulcast:send q;h;f',
            'a=ssrc-group:FID 1',
            'm=video 9 UDP/TLS/RTP/SAVPF',
            'a=extmap:99 x',
            'a=rtpmap:96 VP8/0',
            'a=mid:',
            'a=group:BUNDLE 0 0 0',
          ]),
        );
    }
  }
  return lines.join('\r\n');
}

function message(rand: Rand, peers: string[]): unknown {
  const type = pick(rand, TYPES);
  const m: Record<string, unknown> = { type, id: int(rand, 1000) };
  const to = peers.length > 0 && rand() < 0.7 ? pick(rand, peers) : hostileValue(rand);
  switch (type) {
    case 'join':
      m.room = rand() < 0.7 ? `fuzz-${int(rand, 6)}` : hostileValue(rand);
      m.topology = pick(rand, ['mesh', 'sfu', 'mcu', 'auto', 'x']);
      break;
    case 'offer':
    case 'answer':
      m.to = to;
      m.sdp = rand() < 0.5 ? mutatedSdp(rand) : hostileValue(rand);
      break;
    case 'candidate':
      m.to = to;
      m.candidate = {
        candidate: pick(rand, ['candidate:1 1 udp 1 127.0.0.1 9 typ host', '', 'x'.repeat(2000)]),
        sdpMid: hostileValue(rand),
      };
      break;
    case 'sfu-offer':
      m.transport = 'publish';
      m.sdp = mutatedSdp(rand);
      break;
    case 'sfu-answer':
      m.transport = 'subscribe';
      m.revision = int(rand, 5);
      m.sdp = mutatedSdp(rand);
      break;
    case 'sfu-video-size':
      m.trackId = hostileValue(rand);
      m.width = int(rand, 5000);
      m.height = hostileValue(rand);
      break;
    case 'mcu-layout':
      m.layout = pick(rand, ['grid', 'speaker', 'presentation', 'x']);
      break;
    case 'hello':
      m.name = hostileValue(rand);
      m.identity = hostileValue(rand);
      break;
    default:
      if (type.startsWith('call-')) m.callId = hostileValue(rand);
  }
  // A field of a prototype name or an unknown one, now and then.
  if (rand() < 0.15) m[pick(rand, ['__proto__', 'constructor', 'toString', 'extra'])] = hostileValue(rand);
  return m;
}

function frame(rand: Rand, peers: string[]): string | Buffer {
  const r = rand();
  if (r < 0.75) return JSON.stringify(message(rand, peers));
  if (r < 0.8) return nestedJson(pick(rand, [100, 10_000, 100_000]));
  if (r < 0.85) return randomBytes(rand, int(rand, 200));
  if (r < 0.9) return '{"type":"ping","id":"' + 'x'.repeat(pick(rand, [60_000, 70_000, 2_000_000])) + '"}';
  if (r < 0.95) return mutate(rand, Buffer.from(JSON.stringify(message(rand, peers)))).toString('utf8');
  return JSON.stringify(hostileValue(rand));
}

export class SignalingTarget {
  constructor(
    private readonly wsUrl: string,
    private readonly httpUrl: string,
  ) {}

  /** `clients` connections of `frames` frames each; returns frames sent. */
  async batch(rand: Rand, clients: number, frames: number): Promise<number> {
    let sent = 0;
    const peers: string[] = [];
    await Promise.all(
      Array.from({ length: clients }, async () => {
        const ws = new WebSocket(this.wsUrl, { maxPayload: 1 << 20 });
        const opened = await new Promise<boolean>((resolve) => {
          ws.once('open', () => resolve(true));
          ws.once('error', () => resolve(false));
        });
        if (!opened) return;
        ws.on('error', () => undefined);
        ws.on('message', (data) => {
          const text = wsText(data);
          const id = /"(?:participantId|id|sessionId)":"(p-[^"]+)"/.exec(text);
          if (id && peers.length < 64) peers.push(id[1]!);
        });
        if (rand() < 0.8) ws.send(JSON.stringify({ type: 'hello', name: 'fuzz' }));
        if (rand() < 0.7)
          ws.send(JSON.stringify({ type: 'join', room: `fuzz-${int(rand, 6)}`, topology: pick(rand, ['mesh', 'sfu', 'mcu']) }));
        for (let i = 0; i < frames && ws.readyState === WebSocket.OPEN; i++, sent++) {
          ws.send(frame(rand, peers));
          if (i % 8 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        await new Promise((r) => setTimeout(r, 20));
        if (rand() < 0.5) ws.terminate();
        else ws.close(pick(rand, [1000, 1001, 4000]));
      }),
    );
    return sent;
  }

  /** Random REST calls: bodies, methods, auth headers, paths. */
  async httpBatch(rand: Rand, n: number): Promise<number> {
    for (let i = 0; i < n; i++) {
      const path = pick(rand, [
        '/api/calls',
        `/api/calls/${int(rand, 100)}`,
        '/api/calls/%00',
        '/healthz?x=' + 'a'.repeat(int(rand, 9000)),
        '/%2e%2e/%2e%2e/etc/passwd',
        '/ws',
      ]);
      const method = pick(rand, ['GET', 'POST', 'DELETE', 'PUT', 'OPTIONS']);
      const body =
        method === 'GET' || method === 'OPTIONS'
          ? undefined
          : rand() < 0.5
            ? JSON.stringify(hostileValue(rand))
            : randomBytes(rand, int(rand, 3000)).toString('latin1');
      try {
        const res = await fetch(this.httpUrl + path, {
          method,
          signal: AbortSignal.timeout(5000),
          headers: {
            authorization: pick(rand, ['', 'Bearer x', 'Bearer ' + 'y'.repeat(300), 'Basic Og==']),
            'content-type': 'application/json',
          },
          ...(body !== undefined ? { body } : {}),
        });
        await res.arrayBuffer();
      } catch {
        // A refused or reset request is the server's right; only its health counts.
      }
    }
    return n;
  }
}
