/**
 * `switchboard loadtest` arguments → validated options. Every run is bounded in peers and time
 * (hard caps below), and aims only at loopback unless `--allow-remote` says otherwise.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export const MAX_PEERS = 2000;
export const MAX_DURATION_S = 600;
export const MAX_ROOMS = 500;
export const MAX_URLS = 16;
export const MIN_VIDEO_BITRATE = 50_000;
export const MAX_VIDEO_BITRATE = 20_000_000;
export const DEFAULT_VIDEO_BITRATE = 1_500_000;

export type PeerLibrary = 'ndc' | 'wrtc';

export interface LoadtestOptions {
  /** The first server: the report's, and the CPU source's without --server-pid. */
  url: URL;
  /** Every server given (`--url` repeated): the peers of each room are spread over them in turn. */
  urls: URL[];
  /** The rooms' topology: `mcu` makes MCU rooms (their subscribers receive the mix, not the publishers' own packets). */
  topology: 'sfu' | 'mcu';
  rooms: number;
  /** Per room. */
  publishers: number;
  /** Per room. */
  subscribers: number;
  /** Seconds of measurement after every peer has joined. */
  durationS: number;
  videoBitrate: number;
  peer: PeerLibrary;
  json: boolean;
  allowRemote: boolean;
  serverPid: number | null;
  /** Room names are `${roomPrefix}-${index}`. */
  roomPrefix: string;
  /** Upper bound of each signaling and connection step, per peer. */
  joinTimeoutMs: number;
  /** Switchboard with auth: the secret to mint each peer's token (env SWITCHBOARD_AUTH_SECRET; a flag would show in `ps`). */
  authSecret: string | null;
}

/** A bad command line: the CLI prints it with the usage text (and exits 2, not 1). */
export class UsageError extends SwitchboardError {
  constructor(message: string) {
    super(InternalErrorCode.InvalidArgument, message);
  }
}

export const LOADTEST_USAGE = `usage:
  switchboard loadtest --url URL [--url URL…] --rooms R --publishers P --subscribers S --duration SECONDS
                       [--topology sfu|mcu] [--video-bitrate BITS_PER_S (default 1500000; suffixes k, M)] [--peer ndc|wrtc]
                       [--json] [--server-pid PID] [--room-prefix NAME] [--join-timeout SECONDS]
                       [--allow-remote]   (env SWITCHBOARD_AUTH_SECRET: mint each peer's access token)
    P publishers and S subscribers in each of R rooms (at most ${MAX_PEERS} peers, ${MAX_DURATION_S} s);
    URL is the server (http://127.0.0.1:8080 or ws://…/ws) and must resolve to loopback
    unless --allow-remote is given; with several, each room's peers take them in turn
    (nodes of one cluster: a room spans them).`;

function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url is not a URL (got "${text}")`);
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol))
    throw new UsageError(`--url must be http(s):// or ws(s):// (got "${url.protocol}")`);
  return url;
}

function integer(name: string, text: string | undefined, min: number, max: number, fallback?: number): number {
  if (text === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number (got "${text}")`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max} (got ${n})`);
  return n;
}

/** 1500000, 1500k, 1.5M → bit/s. */
export function parseBitrate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([kM]?)$/.exec(text);
  if (!m) throw new UsageError(`--video-bitrate must be bits per second like 1500000, 1500k or 1.5M (got "${text}")`);
  const n = Math.round(Number(m[1]) * (m[2] === 'M' ? 1e6 : m[2] === 'k' ? 1e3 : 1));
  if (n < MIN_VIDEO_BITRATE || n > MAX_VIDEO_BITRATE) {
    throw new UsageError(`--video-bitrate must be between ${MIN_VIDEO_BITRATE} and ${MAX_VIDEO_BITRATE} bit/s (got ${n})`);
  }
  return n;
}

export function parseLoadtestArgs(args: string[], env: Record<string, string | undefined> = process.env): LoadtestOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: 'string', multiple: true },
        topology: { type: 'string' },
        rooms: { type: 'string' },
        publishers: { type: 'string' },
        subscribers: { type: 'string' },
        duration: { type: 'string' },
        'video-bitrate': { type: 'string' },
        peer: { type: 'string' },
        json: { type: 'boolean' },
        'allow-remote': { type: 'boolean' },
        'server-pid': { type: 'string' },
        'room-prefix': { type: 'string' },
        'join-timeout': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | string[] | boolean | undefined> });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const urlTexts = (values.url as string[] | undefined) ?? [];
  if (urlTexts.length === 0) throw new UsageError('--url is required');
  if (urlTexts.length > MAX_URLS) throw new UsageError(`at most ${MAX_URLS} --url`);
  const urls = urlTexts.map(parseServerUrl);
  const topology = str('topology') ?? 'sfu';
  if (topology !== 'sfu' && topology !== 'mcu') throw new UsageError(`--topology must be sfu or mcu (got "${topology}")`);
  const rooms = integer('rooms', str('rooms'), 1, MAX_ROOMS);
  const publishers = integer('publishers', str('publishers'), 1, MAX_PEERS);
  const subscribers = integer('subscribers', str('subscribers'), 0, MAX_PEERS);
  const peers = rooms * (publishers + subscribers);
  if (peers > MAX_PEERS) throw new UsageError(`at most ${MAX_PEERS} peers in all (--rooms × (--publishers + --subscribers) = ${peers})`);
  const durationS = integer('duration', str('duration'), 1, MAX_DURATION_S);
  const peer = str('peer') ?? 'ndc';
  if (peer !== 'ndc' && peer !== 'wrtc') throw new UsageError(`--peer must be ndc or wrtc (got "${peer}")`);
  const pidText = str('server-pid');
  const roomPrefix = str('room-prefix') ?? 'loadtest';
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(roomPrefix))
    throw new UsageError(`--room-prefix must be 1–40 letters, digits, _ or - (got "${roomPrefix}")`);
  return {
    url: urls[0] as URL,
    urls,
    topology,
    rooms,
    publishers,
    subscribers,
    durationS,
    peer,
    roomPrefix,
    videoBitrate: str('video-bitrate') === undefined ? DEFAULT_VIDEO_BITRATE : parseBitrate(str('video-bitrate') as string),
    json: values.json === true,
    allowRemote: values['allow-remote'] === true,
    serverPid: pidText === undefined ? null : integer('server-pid', pidText, 1, 0x7fffffff),
    joinTimeoutMs: integer('join-timeout', str('join-timeout'), 1, 120, 20) * 1000,
    authSecret: env.SWITCHBOARD_AUTH_SECRET || null,
  };
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
export function isLoopbackAddress(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  const a = address.toLowerCase();
  return a === '::1' || a === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(a);
}

/**
 * Refuses a URL whose host resolves to anything but loopback (every address it resolves to must
 * be loopback), unless the user said --allow-remote: a load test must not be aimed elsewhere by
 * accident.
 */
export async function checkLoopback(url: URL, allowRemote: boolean): Promise<void> {
  if (allowRemote) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    throw new UsageError(`cannot resolve ${host}: ${(err as Error).message}`);
  }
  const remote = addresses.filter((a) => !isLoopbackAddress(a));
  if (addresses.length === 0 || remote.length > 0) {
    throw new UsageError(
      `refusing ${url.host}: it resolves to ${remote.join(', ') || 'nothing'}, not loopback (pass --allow-remote to load a remote server)`,
    );
  }
}
