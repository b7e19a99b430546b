/**
 * Server configuration: embedded defaults, overridden by a YAML file, then environment
 * variables, then command-line flags. Every value is validated; a bad one stops startup
 * with a ConfigError naming the key.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { IceServer } from '../protocol/index.js';
import { checkCidr } from '../turn/peer-filter.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  port: number;
  host: string;
  /** PEM files; both set → HTTPS and WSS. */
  tlsCert?: string;
  tlsKey?: string;
  /** HS256 secret; set → every client needs an access token. */
  authSecret?: string;
  logLevel: LogLevel;
  /** The built web app (Vite output). */
  webRoot: string;
  heartbeatMs: number;
  resumeGraceMs: number;
  callRingMs: number;
  maxRoomParticipants: number;
  /**
   * Mesh rooms hold at most this many (every page connects to every other); also sizes the
   * default per-identity TURN quota (src/server/turn.ts turnQuotaDefaults).
   */
  maxMeshParticipants: number;
  rateLimit: { perSecond: number; burst: number };
  /** A signaling WebSocket that has not sent `hello`/`resume` by then is closed (1008). */
  helloTimeoutMs: number;
  /** Open signaling WebSockets per client IP address; further upgrades are answered 429. */
  maxConnectionsPerIp: number;
  /** Bytes held for one signaling connection that reads too slowly before it is closed (1013) and its session waits for resume. */
  maxOutboundBufferBytes: number;
  /** 1:1 call attempts per caller session, per 10 s (excess: 429 `rate-limited`). */
  callInvitesPer10s: number;
  /** Rings (`call-incoming`) per callee session, per 10 s, from all callers together. */
  callRingsPer10s: number;
  /** Bearer token for `/metrics`; set → every `/metrics` request needs `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** A separate listener serving only `/metrics` and `/healthz`; set → the app port no longer serves `/metrics`. 0 = any free port. */
  metricsPort?: number;
  /** Listen address of the metrics listener; default 127.0.0.1. */
  metricsHost?: string;
  /** Static ICE servers handed to every client as they are. */
  iceServers: IceServer[];
  /**
   * TURN REST secret: every client gets TURN URLs with a fresh username/password valid for
   * `turnCredentialTtlSeconds`. The embedded TURN server checks them; without a secret it
   * makes a random one at start. With `turnUrls`, the credentials are for that (external)
   * TURN server, e.g. coturn's static-auth-secret.
   */
  turnSecret?: string;
  turnUrls: string[];
  turnCredentialTtlSeconds: number;
  /** The embedded STUN/TURN server (src/turn). */
  turnEnabled: boolean;
  /** UDP and TCP; 0 = any free port. */
  turnPort: number;
  /** TLS, when a certificate is set (turnTlsCert/Key, else tlsCert/Key). */
  turnTlsPort: number;
  turnTlsCert?: string;
  turnTlsKey?: string;
  /** Listen address; default: `host` (a wildcard serves every interface address). */
  turnHost?: string;
  /** Relay on this address instead of the one each client reached. */
  turnRelayIp?: string;
  /** Public IP of a server behind a 1:1 NAT (cloud VMs): relayed addresses are announced with it. */
  turnExternalIp?: string;
  /** Host put in the TURN URLs given to clients; default: the host the client used for signaling. */
  turnPublicHost?: string;
  turnRealm: string;
  /** Static long-term users, "name:password". */
  turnUsers: string[];
  /** Peer CIDRs allowed although in a refused (private, loopback, …) range. */
  turnAllowPeers: string[];
  /** Allocations plus held port reservations, in all. */
  turnMaxAllocations: number;
  /** Per identity (static user, or a REST username's identity); default from maxMeshParticipants (turnQuotaDefaults). */
  turnMaxAllocationsPerUser?: number;
  /** Per client IP; default three times the per-identity quota. */
  turnMaxAllocationsPerIp?: number;
  /** Per allocation and direction; 0 = no cap. */
  turnMaxBitrateKbps: number;
  /** The SFU's media server (src/rtc, src/sfu): SFU rooms are refused when false. */
  rtcEnabled: boolean;
  /** One UDP port for every WebRTC transport, plus ICE-TCP on the same TCP port; 0 = any free port. */
  rtcPort: number;
  /** Listen address of the RTC port; default: 0.0.0.0 and ::. */
  rtcHost?: string;
  /** Addresses put in the SFU's ICE candidates (public IP behind a 1:1 NAT); default: every interface address. */
  announcedIps: string[];
  /** MCU rooms: the composed picture's size (even) and frame rate. */
  mcuWidth: number;
  mcuHeight: number;
  mcuFps: number;
  /** MCU rooms: the composed video's quality tiers, kbit/s, lowest first (each receiver gets the one its bandwidth affords). */
  mcuTiersKbps: string[];
  /**
   * MCU rooms at once; a join that would create one more gets `mcu-capacity`. Each MCU room in
   * use costs a share of a core (decode, compose, libvpx per tier, Opus per listener): the
   * default is sized for a 2-core machine (README, "MCU rooms").
   */
  maxMcuRooms: number;
}

export class ConfigError extends Error {
  constructor(readonly key: string, problem: string, value: unknown) {
    super(`invalid config: ${key} ${problem} (got ${JSON.stringify(value)})`);
    this.name = 'ConfigError';
  }
}

/**
 * Sized on this project's 2-core machine with bench/mcu-rooms.ts: one MCU room in use (a
 * publisher viewing its composite at the default 1280×720, 15 fps) cost 29–47 % of a core, four
 * such rooms 116 % (/healthz p50 59 ms), and a sixth room's peer could not even connect. Four
 * (about 2 per core) leaves room for rooms with more publishers or layouts (each viewed layout is
 * one more encode) and for signaling, TURN and the SFU. Bigger machines raise it.
 */
export const DEFAULT_MAX_MCU_ROOMS = 4;

export function defaultConfig(): ServerConfig {
  return {
    port: 8080,
    host: '0.0.0.0',
    logLevel: 'info',
    webRoot: fileURLToPath(new URL('../../web/', import.meta.url)),
    heartbeatMs: 10_000,
    resumeGraceMs: 30_000,
    callRingMs: 30_000,
    maxRoomParticipants: 50,
    maxMeshParticipants: 8,
    rateLimit: { perSecond: 50, burst: 200 },
    helloTimeoutMs: 10_000,
    maxConnectionsPerIp: 32,
    // Beyond the kernel's own socket buffer (several MB on Linux): a page on a slow link
    // joining a big room needs far less, a reader that has stopped needs a bound.
    maxOutboundBufferBytes: 1024 * 1024,
    callInvitesPer10s: 5,
    callRingsPer10s: 5,
    iceServers: [],
    turnUrls: [],
    // Browsers reuse the credential for allocation refreshes, so it must outlive a long call.
    turnCredentialTtlSeconds: 86_400,
    turnEnabled: true,
    turnPort: 3478,
    turnTlsPort: 5349,
    turnRealm: 'switchboard',
    turnUsers: [],
    turnAllowPeers: [],
    turnMaxAllocations: 1000,
    // Enough for HD video plus screen share; a cap keeps one user from filling the uplink.
    turnMaxBitrateKbps: 10_000,
    rtcEnabled: true,
    rtcPort: 40_000,
    announcedIps: [],
    mcuWidth: 1280,
    mcuHeight: 720,
    mcuFps: 15,
    mcuTiersKbps: ['300', '700', '1500'],
    maxMcuRooms: DEFAULT_MAX_MCU_ROOMS,
  };
}

type Kind =
  | { t: 'int'; min: number; max: number }
  | { t: 'bool' }
  | { t: 'string' }
  | { t: 'enum'; values: readonly string[] };

/** Scalar keys, by dotted path, with how to read them from strings (env, flags). */
const SCALARS: Record<string, Kind> = {
  port: { t: 'int', min: 0, max: 65535 },
  host: { t: 'string' },
  tlsCert: { t: 'string' },
  tlsKey: { t: 'string' },
  authSecret: { t: 'string' },
  logLevel: { t: 'enum', values: LOG_LEVELS },
  webRoot: { t: 'string' },
  heartbeatMs: { t: 'int', min: 100, max: 600_000 },
  resumeGraceMs: { t: 'int', min: 0, max: 3_600_000 },
  callRingMs: { t: 'int', min: 100, max: 600_000 },
  maxRoomParticipants: { t: 'int', min: 1, max: 10_000 },
  maxMeshParticipants: { t: 'int', min: 2, max: 100 },
  'rateLimit.perSecond': { t: 'int', min: 1, max: 1_000_000 },
  'rateLimit.burst': { t: 'int', min: 1, max: 1_000_000 },
  helloTimeoutMs: { t: 'int', min: 100, max: 600_000 },
  maxConnectionsPerIp: { t: 'int', min: 1, max: 1_000_000 },
  maxOutboundBufferBytes: { t: 'int', min: 64 * 1024, max: 1024 * 1024 * 1024 },
  callInvitesPer10s: { t: 'int', min: 1, max: 10_000 },
  callRingsPer10s: { t: 'int', min: 1, max: 10_000 },
  metricsToken: { t: 'string' },
  metricsPort: { t: 'int', min: 0, max: 65535 },
  metricsHost: { t: 'string' },
  turnSecret: { t: 'string' },
  turnCredentialTtlSeconds: { t: 'int', min: 60, max: 7 * 86_400 },
  turnEnabled: { t: 'bool' },
  turnPort: { t: 'int', min: 0, max: 65535 },
  turnTlsPort: { t: 'int', min: 0, max: 65535 },
  turnTlsCert: { t: 'string' },
  turnTlsKey: { t: 'string' },
  turnHost: { t: 'string' },
  turnRelayIp: { t: 'string' },
  turnExternalIp: { t: 'string' },
  turnPublicHost: { t: 'string' },
  turnRealm: { t: 'string' },
  turnMaxAllocations: { t: 'int', min: 1, max: 1_000_000 },
  turnMaxAllocationsPerUser: { t: 'int', min: 1, max: 1_000_000 },
  turnMaxAllocationsPerIp: { t: 'int', min: 1, max: 1_000_000 },
  turnMaxBitrateKbps: { t: 'int', min: 0, max: 10_000_000 },
  rtcEnabled: { t: 'bool' },
  rtcPort: { t: 'int', min: 0, max: 65535 },
  rtcHost: { t: 'string' },
  mcuWidth: { t: 'int', min: 64, max: 3840 },
  mcuHeight: { t: 'int', min: 64, max: 2160 },
  mcuFps: { t: 'int', min: 1, max: 30 },
  maxMcuRooms: { t: 'int', min: 0, max: 100_000 },
};

/** List keys: a YAML list, or a comma-separated string (env), or repeated flags. */
const LISTS: Record<string, (item: string) => string | undefined> = {
  turnUrls: (u) => (/^(turn|turns|stun|stuns):/.test(u) ? undefined : 'must be a list of turn:/turns:/stun: URLs'),
  turnUsers: (u) => (/^[^:]+:.+$/.test(u) ? undefined : 'must be a list of name:password'),
  announcedIps: (ip) => (isIP(ip) ? undefined : 'must be a list of IP addresses'),
  mcuTiersKbps: (k) => (/^[1-9][0-9]{1,5}$/.test(k) && Number(k) >= 50 && Number(k) <= 50_000 ? undefined : 'must be a list of bitrates in kbit/s (50-50000)'),
  turnAllowPeers: (c) => {
    try {
      checkCidr(c);
      return undefined;
    } catch {
      return 'must be a list of CIDRs (e.g. 10.0.0.0/8, fd00::/8)';
    }
  },
};

/** Environment variables and the keys they set. */
export const ENV_KEYS: Record<string, string> = {
  PORT: 'port',
  SWITCHBOARD_PORT: 'port',
  SWITCHBOARD_HOST: 'host',
  SWITCHBOARD_TLS_CERT: 'tlsCert',
  SWITCHBOARD_TLS_KEY: 'tlsKey',
  SWITCHBOARD_AUTH_SECRET: 'authSecret',
  SWITCHBOARD_LOG_LEVEL: 'logLevel',
  SWITCHBOARD_WEB_ROOT: 'webRoot',
  SWITCHBOARD_MAX_CONNECTIONS_PER_IP: 'maxConnectionsPerIp',
  SWITCHBOARD_METRICS_TOKEN: 'metricsToken',
  SWITCHBOARD_METRICS_PORT: 'metricsPort',
  SWITCHBOARD_METRICS_HOST: 'metricsHost',
  SWITCHBOARD_MAX_MESH_PARTICIPANTS: 'maxMeshParticipants',
  SWITCHBOARD_TURN_SECRET: 'turnSecret',
  SWITCHBOARD_TURN_URLS: 'turnUrls',
  SWITCHBOARD_TURN_ENABLED: 'turnEnabled',
  SWITCHBOARD_TURN_PORT: 'turnPort',
  SWITCHBOARD_TURN_REALM: 'turnRealm',
  SWITCHBOARD_TURN_USERS: 'turnUsers',
  SWITCHBOARD_TURN_ALLOW_PEERS: 'turnAllowPeers',
  SWITCHBOARD_TURN_PUBLIC_HOST: 'turnPublicHost',
  SWITCHBOARD_TURN_RELAY_IP: 'turnRelayIp',
  SWITCHBOARD_TURN_EXTERNAL_IP: 'turnExternalIp',
  SWITCHBOARD_RTC_PORT: 'rtcPort',
  SWITCHBOARD_ANNOUNCED_IP: 'announcedIps',
  SWITCHBOARD_MCU_WIDTH: 'mcuWidth',
  SWITCHBOARD_MCU_HEIGHT: 'mcuHeight',
  SWITCHBOARD_MCU_FPS: 'mcuFps',
  SWITCHBOARD_MCU_TIERS: 'mcuTiersKbps',
  SWITCHBOARD_MAX_MCU_ROOMS: 'maxMcuRooms',
};

/** Command-line flags (without `--`) and the keys they set. */
export const FLAG_KEYS: Record<string, string> = {
  port: 'port',
  host: 'host',
  'tls-cert': 'tlsCert',
  'tls-key': 'tlsKey',
  'auth-secret': 'authSecret',
  'log-level': 'logLevel',
  'web-root': 'webRoot',
  'heartbeat-ms': 'heartbeatMs',
  'resume-grace-ms': 'resumeGraceMs',
  'call-ring-ms': 'callRingMs',
  'max-room-participants': 'maxRoomParticipants',
  'hello-timeout-ms': 'helloTimeoutMs',
  'max-connections-per-ip': 'maxConnectionsPerIp',
  'max-outbound-buffer-bytes': 'maxOutboundBufferBytes',
  'call-invites-per-10s': 'callInvitesPer10s',
  'call-rings-per-10s': 'callRingsPer10s',
  'metrics-token': 'metricsToken',
  'metrics-port': 'metricsPort',
  'metrics-host': 'metricsHost',
  'max-mesh-participants': 'maxMeshParticipants',
  'turn-secret': 'turnSecret',
  'turn-urls': 'turnUrls',
  'turn-credential-ttl': 'turnCredentialTtlSeconds',
  'turn-enabled': 'turnEnabled',
  'turn-port': 'turnPort',
  'turn-tls-port': 'turnTlsPort',
  'turn-tls-cert': 'turnTlsCert',
  'turn-tls-key': 'turnTlsKey',
  'turn-host': 'turnHost',
  'turn-relay-ip': 'turnRelayIp',
  'turn-external-ip': 'turnExternalIp',
  'turn-public-host': 'turnPublicHost',
  'turn-realm': 'turnRealm',
  'turn-user': 'turnUsers',
  'turn-allow-peer': 'turnAllowPeers',
  'turn-max-allocations': 'turnMaxAllocations',
  'turn-max-allocations-per-user': 'turnMaxAllocationsPerUser',
  'turn-max-allocations-per-ip': 'turnMaxAllocationsPerIp',
  'turn-max-bitrate': 'turnMaxBitrateKbps',
  'rtc-enabled': 'rtcEnabled',
  'rtc-port': 'rtcPort',
  'rtc-host': 'rtcHost',
  'announced-ip': 'announcedIps',
  'mcu-width': 'mcuWidth',
  'mcu-height': 'mcuHeight',
  'mcu-fps': 'mcuFps',
  'mcu-tier': 'mcuTiersKbps',
  'max-mcu-rooms': 'maxMcuRooms',
};

/** Flags that may be given more than once. */
export const REPEATABLE_FLAGS = new Set(['turn-user', 'turn-allow-peer', 'announced-ip']);

function checkScalar(key: string, kind: Kind, value: unknown): string | number | boolean {
  switch (kind.t) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < kind.min || value > kind.max) {
        throw new ConfigError(key, `must be an integer ${kind.min}-${kind.max}`, value);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw new ConfigError(key, 'must be true or false', value);
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) throw new ConfigError(key, 'must be a non-empty string', value);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) throw new ConfigError(key, `must be one of ${kind.values.join(', ')}`, value);
      return value;
  }
}

/** Strings from env/flags become numbers for integer keys ("abc" stays a string and fails). */
function fromString(kind: Kind | undefined, text: string): unknown {
  if (kind?.t === 'int' && /^-?\d+$/.test(text.trim())) return Number(text);
  if (kind?.t === 'bool' && /^(true|false)$/.test(text.trim())) return text.trim() === 'true';
  return text;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split('.') as [string, string | undefined];
  if (tail === undefined) {
    target[head] = value;
    return;
  }
  const inner = (target[head] ??= {}) as Record<string, unknown>;
  inner[tail] = value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkIceServers(value: unknown): IceServer[] {
  if (!Array.isArray(value)) throw new ConfigError('iceServers', 'must be a list', value);
  return value.map((entry, i) => {
    const key = `iceServers[${i}]`;
    if (!isRecord(entry)) throw new ConfigError(key, 'must be a mapping with urls', entry);
    const urls = typeof entry.urls === 'string' ? [entry.urls] : entry.urls;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^(stun|stuns|turn|turns):/.test(u))) {
      throw new ConfigError(`${key}.urls`, 'must be stun:/turn: URLs', entry.urls);
    }
    const out: IceServer = { urls: urls as string[] };
    for (const k of Object.keys(entry)) {
      if (k === 'urls') continue;
      if (k !== 'username' && k !== 'credential') throw new ConfigError(`${key}.${k}`, 'is not a known key', entry[k]);
      if (typeof entry[k] !== 'string') throw new ConfigError(`${key}.${k}`, 'must be a string', entry[k]);
      out[k] = entry[k] as string;
    }
    return out;
  });
}

/** Validates a partial config object (from YAML or code) and merges it onto `base`. */
export function mergeConfig(base: ServerConfig, layer: Record<string, unknown>, prefix = ''): ServerConfig {
  const out: ServerConfig = { ...base, rateLimit: { ...base.rateLimit } };
  for (const [k, v] of Object.entries(layer)) {
    const key = prefix + k;
    if (v === undefined) continue;
    if (key === 'iceServers') {
      out.iceServers = checkIceServers(v);
      continue;
    }
    const itemProblem = LISTS[key];
    if (itemProblem) {
      const items = typeof v === 'string' ? v.split(',').map((u) => u.trim()).filter(Boolean) : v;
      if (!Array.isArray(items)) throw new ConfigError(key, itemProblem('') ?? 'must be a list', v);
      for (const item of items) {
        const problem = typeof item === 'string' ? itemProblem(item) : itemProblem('') ?? 'must be a list of strings';
        if (problem) throw new ConfigError(key, problem, v);
      }
      (out as unknown as Record<string, unknown>)[key] = items as string[];
      continue;
    }
    if (key === 'rateLimit') {
      if (!isRecord(v)) throw new ConfigError(key, 'must be a mapping with perSecond and burst', v);
      for (const [sub, sv] of Object.entries(v)) {
        const kind = SCALARS[`rateLimit.${sub}`];
        if (!kind) throw new ConfigError(`rateLimit.${sub}`, 'is not a known key', sv);
        setPath(out as unknown as Record<string, unknown>, `rateLimit.${sub}`, checkScalar(`rateLimit.${sub}`, kind, sv));
      }
      continue;
    }
    const kind = SCALARS[key];
    if (!kind) throw new ConfigError(key, 'is not a known key', v);
    setPath(out as unknown as Record<string, unknown>, key, checkScalar(key, kind, v));
  }
  return out;
}

/** Rules across keys, checked once all layers are merged (a file may set one, a flag the other). */
export function checkConfig(c: ServerConfig): ServerConfig {
  if (!c.turnEnabled && c.turnSecret !== undefined && c.turnUrls.length === 0) {
    throw new ConfigError('turnUrls', 'must list the TURN server URLs when turnSecret is set and the embedded TURN server is off', c.turnUrls);
  }
  if ((c.turnTlsCert === undefined) !== (c.turnTlsKey === undefined)) {
    throw new ConfigError(c.turnTlsCert ? 'turnTlsKey' : 'turnTlsCert', 'must be set together with the other TLS file', c.turnTlsCert ?? c.turnTlsKey);
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new ConfigError(c.tlsCert ? 'tlsKey' : 'tlsCert', 'must be set together with the other TLS file', c.tlsCert ?? c.tlsKey);
  }
  // Sent in an HTTP header and compared whole: printable ASCII, long enough not to be guessed.
  if (c.metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(c.metricsToken)) {
    throw new ConfigError('metricsToken', 'must be 16-256 printable ASCII characters without spaces', '(hidden)');
  }
  if (c.metricsHost !== undefined && c.metricsPort === undefined) {
    throw new ConfigError('metricsHost', 'needs metricsPort (the separate metrics listener)', c.metricsHost);
  }
  if (c.metricsPort !== undefined && c.metricsPort !== 0 && c.metricsPort === c.port) {
    throw new ConfigError('metricsPort', 'must differ from port', c.metricsPort);
  }
  // 4:2:0 video: chroma planes are half the size, so the composed picture's sides are even.
  if (c.mcuWidth % 2 !== 0) throw new ConfigError('mcuWidth', 'must be even', c.mcuWidth);
  if (c.mcuHeight % 2 !== 0) throw new ConfigError('mcuHeight', 'must be even', c.mcuHeight);
  if (c.mcuTiersKbps.length === 0) throw new ConfigError('mcuTiersKbps', 'must list at least one bitrate', c.mcuTiersKbps);
  // Tiers are the output's simulcast layers: the allocator climbs them in order.
  if (c.mcuTiersKbps.some((k, i) => i > 0 && Number(k) <= Number(c.mcuTiersKbps[i - 1]))) {
    throw new ConfigError('mcuTiersKbps', 'must rise from the lowest tier to the highest', c.mcuTiersKbps);
  }
  return c;
}

export interface ConfigSources {
  /** YAML file path (flag --config or SWITCHBOARD_CONFIG). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Flag values keyed by flag name without dashes prefix, as parsed by the CLI (repeated flags: arrays). */
  flags?: Record<string, string | string[] | undefined>;
}

/** defaults < YAML file < environment < flags. */
export function loadConfig(sources: ConfigSources): ServerConfig {
  let config = defaultConfig();
  const env = sources.env ?? {};
  const file = sources.file ?? env.SWITCHBOARD_CONFIG;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('config', `file cannot be read: ${(err as Error).message}`, file);
    }
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError('config', `is not valid YAML: ${(err as Error).message}`, file);
    }
    if (doc !== null && doc !== undefined) {
      if (!isRecord(doc)) throw new ConfigError('config', 'must be a YAML mapping', file);
      config = mergeConfig(config, doc);
    }
  }
  const layer = (table: Record<string, string>, values: Record<string, string | string[] | undefined>): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [name, key] of Object.entries(table)) {
      const v = values[name];
      if (v !== undefined) out[key] = Array.isArray(v) ? v : fromString(SCALARS[key], v);
    }
    return out;
  };
  config = mergeConfig(config, layer(ENV_KEYS, env as Record<string, string | undefined>));
  config = mergeConfig(config, layer(FLAG_KEYS, sources.flags ?? {}));
  return checkConfig(config);
}
