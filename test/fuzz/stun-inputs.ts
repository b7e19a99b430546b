/**
 * STUN and TURN messages for the live fuzz harness: requests built from random attribute sets
 * and correctly signed with a valid TURN REST credential (so they reach the method handlers,
 * not only the integrity check), unsigned ones, attributes appended after the integrity,
 * ChannelData with lying lengths, then byte mutations of all of these.
 */
import { createHmac } from 'node:crypto';
import { StunMessageBuilder } from '../../src/stun/builder.js';
import { encodeXorAddress } from '../../src/stun/address.js';
import { Attr, StunClass, StunMethod } from '../../src/stun/constants.js';
import { longTermKey } from '../../src/stun/credentials.js';
import { decodeStun } from '../../src/stun/message.js';
import { int, mutate, pick, randomBytes, type Rand } from './mutate.js';

export interface TurnAuth {
  username: string;
  key: Buffer;
  realm: string;
  /** Learned from the server's first 401; empty until then. */
  nonce: string;
}

export function restAuth(secret: string, identity: string, realm: string): TurnAuth {
  const username = `${Math.floor(Date.now() / 1000) + 3600}:${identity}`;
  const password = createHmac('sha1', secret).update(username).digest('base64');
  return { username, key: longTermKey(username, realm, password), realm, nonce: '' };
}

/** Reads NONCE (and REALM) from a server's 401/438 answer into `auth`. */
export function learnNonce(auth: TurnAuth, answer: Buffer): void {
  const res = decodeStun(answer);
  if (!res.ok) return;
  const nonce = res.message.attributes.find((a) => a.type === Attr.Nonce);
  if (nonce) auth.nonce = nonce.value.toString();
}

const METHODS = [
  StunMethod.Binding,
  StunMethod.Allocate,
  StunMethod.Refresh,
  StunMethod.Send,
  StunMethod.CreatePermission,
  StunMethod.ChannelBind,
  StunMethod.Connect,
  StunMethod.ConnectionBind,
  0x0fff,
  0x002,
];
const PEER_IPS = [
  '127.0.0.1',
  '0.0.0.0',
  '255.255.255.255',
  '::1',
  '::',
  '::ffff:127.0.0.1',
  '::ffff:0:127.0.0.1',
  '192.88.99.1',
  '198.18.0.1',
  '224.0.0.1',
  '169.254.169.254',
  '2002:7f00:1::1',
  'fe80::1',
];

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function randomAttribute(rand: Rand, b: StunMessageBuilder, sink: { port: number }): void {
  switch (int(rand, 14)) {
    case 0:
      b.add(Attr.Lifetime, u32(pick(rand, [0, 1, 600, 3600, 0xffffffff])));
      break;
    case 1:
      b.add(Attr.RequestedTransport, Buffer.from([pick(rand, [17, 6, 0, 255]), 0, 0, 0]));
      break;
    case 2: {
      const port = pick(rand, [0, sink.port, 1, 65535, int(rand, 65536)]);
      b.add(Attr.XorPeerAddress, encodeXorAddress({ address: pick(rand, PEER_IPS), port }, b.transactionId));
      break;
    }
    case 3:
      b.add(
        Attr.ChannelNumber,
        Buffer.from(rand() < 0.7 ? [0x40, int(rand, 4), 0, 0] : [pick(rand, [0x40, 0x7f, 0x00, 0x80, 0xff]), int(rand, 256), 0, 0]),
      );
      break;
    case 4:
      b.add(Attr.EvenPort, Buffer.from([pick(rand, [0x80, 0])]));
      break;
    case 5:
      b.add(Attr.ReservationToken, randomBytes(rand, pick(rand, [8, 4, 0])));
      break;
    case 6:
      b.add(Attr.Data, randomBytes(rand, int(rand, 1200)));
      break;
    case 7:
      b.add(Attr.DontFragment, Buffer.alloc(0));
      break;
    case 8:
      b.add(Attr.RequestedAddressFamily, Buffer.from([pick(rand, [1, 2, 3]), 0, 0, 0]));
      break;
    case 9:
      b.add(Attr.ConnectionId, randomBytes(rand, 4));
      break;
    case 10:
      b.add(Attr.Priority, randomBytes(rand, 4));
      break;
    case 11:
      b.add(Attr.PasswordAlgorithm, Buffer.from([0, pick(rand, [1, 2, 9]), 0, 0]));
      break;
    case 12:
      b.add(int(rand, 0x10000), randomBytes(rand, int(rand, 40)));
      break;
    default:
      b.add(Attr.Username, randomBytes(rand, int(rand, 600)));
  }
}

/** One STUN/TURN message toward the TURN server; `sink` is a UDP port of ours peers may be on. */
export function turnMessage(rand: Rand, auth: TurnAuth, sink: { port: number }): Buffer {
  const method = pick(rand, METHODS);
  const cls = rand() < 0.85 ? StunClass.Request : pick(rand, [StunClass.Indication, StunClass.Success, StunClass.Error]);
  const b = new StunMessageBuilder(method, cls);
  const signed = method !== StunMethod.Binding && rand() < 0.8;
  if (signed) {
    b.add(Attr.Username, Buffer.from(auth.username)).add(Attr.Realm, Buffer.from(auth.realm));
    if (auth.nonce) b.add(Attr.Nonce, Buffer.from(auth.nonce));
  }
  if (method === StunMethod.Allocate && rand() < 0.7) b.add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]));
  for (let n = int(rand, 5); n > 0; n--) randomAttribute(rand, b, sink);
  if (signed) b.addIntegrity(auth.key, rand() < 0.2);
  // RFC 8489 §14.5: what follows the integrity must be ignored.
  if (rand() < 0.15) randomAttribute(rand, b, sink);
  if (rand() < 0.5) b.addFingerprint();
  const msg = b.build();
  return rand() < 0.35 ? mutate(rand, msg) : msg;
}

/** ChannelData with a valid-looking or lying header. */
export function channelData(rand: Rand): Buffer {
  const payload = randomBytes(rand, int(rand, 300));
  const h = Buffer.alloc(4);
  h.writeUInt16BE(rand() < 0.7 ? 0x4000 + int(rand, 4) : pick(rand, [0x7fff, 0x4000 + int(rand, 0x4000), 0x8000]), 0);
  h.writeUInt16BE(pick(rand, [payload.length, payload.length + 1, 0xffff, 0]), 2);
  return Buffer.concat([h, payload]);
}

/** A frame as a TCP/TLS client sends it: STUN, ChannelData, or garbage with a huge length. */
export function streamFrame(rand: Rand, auth: TurnAuth, sink: { port: number }): Buffer {
  const r = rand();
  if (r < 0.6) return turnMessage(rand, auth, sink);
  if (r < 0.85) return channelData(rand);
  // A STUN header announcing a length the stream never delivers.
  const h = Buffer.alloc(20);
  h.writeUInt16BE(0x0001, 0);
  h.writeUInt16BE(pick(rand, [0xfffc, 0x8000, 0x0ffc]), 2);
  h.writeUInt32BE(0x2112a442, 4);
  return h;
}

/**
 * A valid TURN exchange whose peer ports are hostile: Allocate, then CreatePermission and
 * ChannelBind toward our sink or port 0, then Send and ChannelData on them. Random attributes
 * rarely line up into such a sequence, and a bug may hide behind the whole of it.
 */
export function turnScenario(rand: Rand, auth: TurnAuth, sink: { port: number }): Buffer[] {
  const signed = (method: number, add: (b: StunMessageBuilder) => void, cls: StunClass = StunClass.Request): Buffer => {
    const b = new StunMessageBuilder(method, cls);
    if (cls === StunClass.Request)
      b.add(Attr.Username, Buffer.from(auth.username)).add(Attr.Realm, Buffer.from(auth.realm)).add(Attr.Nonce, Buffer.from(auth.nonce));
    add(b);
    if (cls === StunClass.Request) b.addIntegrity(auth.key);
    return b.addFingerprint().build();
  };
  const port = pick(rand, [0, 0, sink.port, 65535]);
  const channel = 0x4000 + int(rand, 4);
  const peer = (b: StunMessageBuilder): void => {
    b.add(Attr.XorPeerAddress, encodeXorAddress({ address: '127.0.0.1', port }, b.transactionId));
  };
  const cd = Buffer.alloc(4 + 8);
  cd.writeUInt16BE(channel, 0);
  cd.writeUInt16BE(8, 2);
  return [
    signed(StunMethod.Allocate, (b) => b.add(Attr.RequestedTransport, Buffer.from([17, 0, 0, 0]))),
    signed(StunMethod.CreatePermission, peer),
    signed(StunMethod.ChannelBind, (b) => {
      b.add(Attr.ChannelNumber, Buffer.from([channel >> 8, channel & 0xff, 0, 0]));
      peer(b);
    }),
    signed(
      StunMethod.Send,
      (b) => {
        peer(b);
        b.add(Attr.Data, randomBytes(rand, 16));
      },
      StunClass.Indication,
    ),
    cd,
  ];
}
