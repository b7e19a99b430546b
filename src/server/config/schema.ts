/**
 * Every configuration key, once: its section, type and range, default, environment variables,
 * flag, and a line of documentation. The config's TypeScript types (types.ts), its parsing and
 * validation (parse.ts), the `serve` usage text and the README's table (usage.ts) all come from
 * here. A key's YAML name is its name in this table; inside its section it drops the section's
 * name (`turnPort` is `turn.port`, `mcuWidth` is `mcu.width`; types.ts fieldName).
 *
 * This module imports nothing of the server's parts: the MCU reads its defaults from it.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { bool, cidr, iceServers, int, ip, listOf, mapping, oneOf, pattern, string, type ConfigEntry } from './value-types.js';
import { DEFAULT_MIXER_OPTIONS } from '../../mcu/defaults.js';

/** The parts of the server a key belongs to, in the order the usage text and README show them. */
export const SECTIONS = {
  server: 'the HTTP(S) listener: signaling WebSocket, REST API and the web app',
  log: 'logging',
  tls: 'HTTPS and WSS',
  auth: 'access tokens',
  signaling: 'signaling sessions, rooms, calls and their limits',
  metrics: 'the Prometheus `/metrics` endpoint',
  ice: 'ICE servers handed to clients',
  turn: 'the embedded STUN/TURN server and TURN REST credentials',
  rtc: "the SFU's media ports (WebRTC transports) and the media worker processes that hold them",
  mcu: 'MCU rooms: the composed picture, its quality tiers, how many rooms',
  cluster: 'several nodes sharing rooms through Redis (unset `redis`: one node alone)',
} as const;

export type SectionName = keyof typeof SECTIONS;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const PORT = int(0, 65535);
const COUNT = int(1, 1_000_000);

export const CONFIG_SCHEMA = {
  // server
  port: {
    section: 'server',
    type: PORT,
    default: 8080,
    env: ['PORT', 'SWITCHBOARD_PORT'],
    flag: 'port',
    doc: 'HTTP(S) port; 0 = any free port',
  },
  host: { section: 'server', type: string, default: '0.0.0.0', env: ['SWITCHBOARD_HOST'], flag: 'host', meta: 'H', doc: 'listen address' },
  webRoot: {
    section: 'server',
    type: string,
    default: fileURLToPath(new URL('../../../web/', import.meta.url)),
    shownDefault: '`dist/web`',
    env: ['SWITCHBOARD_WEB_ROOT'],
    flag: 'web-root',
    meta: 'DIR',
    doc: 'the built web app (Vite output)',
  },
  drainTimeoutMs: {
    section: 'server',
    type: int(0, 86_400_000),
    default: 60_000,
    env: ['SWITCHBOARD_DRAIN_TIMEOUT_MS'],
    flag: 'drain-timeout-ms',
    doc: 'on SIGTERM: no new participants; exit when every room is empty or after this long (0: at once); SIGINT exits at once',
  },
  // log
  logLevel: {
    section: 'log',
    type: oneOf(LOG_LEVELS),
    default: 'info',
    env: ['SWITCHBOARD_LOG_LEVEL'],
    flag: 'log-level',
    doc: 'pino log level',
  },
  // tls
  tlsCert: {
    section: 'tls',
    type: string,
    shownDefault: '— (HTTP)',
    env: ['SWITCHBOARD_TLS_CERT'],
    flag: 'tls-cert',
    meta: 'FILE',
    doc: 'PEM certificate; with `tlsKey`: HTTPS and WSS',
  },
  tlsKey: {
    section: 'tls',
    type: string,
    shownDefault: '— (HTTP)',
    env: ['SWITCHBOARD_TLS_KEY'],
    flag: 'tls-key',
    meta: 'FILE',
    doc: 'PEM private key of `tlsCert`',
  },
  // auth
  authSecret: {
    section: 'auth',
    type: string,
    shownDefault: '— (open mode)',
    env: ['SWITCHBOARD_AUTH_SECRET'],
    flag: 'auth-secret',
    meta: 'S',
    doc: 'HS256 secret; set: every client needs an access token (`switchboard token`)',
  },
  // signaling
  heartbeatMs: { section: 'signaling', type: int(100, 600_000), default: 10_000, flag: 'heartbeat-ms', doc: 'WebSocket ping interval' },
  resumeGraceMs: {
    section: 'signaling',
    type: int(0, 3_600_000),
    default: 30_000,
    flag: 'resume-grace-ms',
    doc: 'how long a dropped session may resume',
  },
  callRingMs: {
    section: 'signaling',
    type: int(100, 600_000),
    default: 30_000,
    flag: 'call-ring-ms',
    doc: 'an unanswered 1:1 call is cancelled after this',
  },
  maxRoomParticipants: {
    section: 'signaling',
    type: int(1, 10_000),
    default: 50,
    flag: 'max-room-participants',
    doc: 'participants per room',
  },
  maxMeshParticipants: {
    section: 'signaling',
    type: int(2, 100),
    default: 8,
    env: ['SWITCHBOARD_MAX_MESH_PARTICIPANTS'],
    flag: 'max-mesh-participants',
    doc: 'mesh rooms hold at most this many (every page connects to every other); sizes the default TURN quota',
  },
  rateLimit: {
    section: 'signaling',
    type: mapping({ perSecond: COUNT, burst: COUNT }),
    default: { perSecond: 50, burst: 200 },
    shownDefault: '50 / 200',
    doc: 'signaling messages per connection: `{perSecond, burst}` (YAML only)',
  },
  helloTimeoutMs: {
    section: 'signaling',
    type: int(100, 600_000),
    default: 10_000,
    flag: 'hello-timeout-ms',
    doc: 'a WebSocket without `hello`/`resume` by then is closed (1008)',
  },
  maxConnectionsPerIp: {
    section: 'signaling',
    type: COUNT,
    default: 32,
    env: ['SWITCHBOARD_MAX_CONNECTIONS_PER_IP'],
    flag: 'max-connections-per-ip',
    doc: 'open signaling WebSockets per client IP; more upgrades: HTTP 429',
  },
  maxOutboundBufferBytes: {
    // Beyond the kernel's own socket buffer (several MB on Linux): a page on a slow link
    // joining a big room needs far less, a reader that has stopped needs a bound.
    section: 'signaling',
    type: int(64 * 1024, 1024 * 1024 * 1024),
    default: 1024 * 1024,
    flag: 'max-outbound-buffer-bytes',
    doc: 'bytes held for a slow reader; over it: close 1013, the session may resume',
  },
  callInvitesPer10s: {
    section: 'signaling',
    type: int(1, 10_000),
    default: 5,
    flag: 'call-invites-per-10s',
    doc: '1:1 call attempts per caller per 10 s; more: 429 `rate-limited`',
  },
  callRingsPer10s: {
    section: 'signaling',
    type: int(1, 10_000),
    default: 5,
    flag: 'call-rings-per-10s',
    doc: 'rings per callee per 10 s, from all callers; more: 429 `rate-limited`',
  },
  // metrics
  metricsToken: {
    section: 'metrics',
    type: string,
    shownDefault: '— (`/metrics` answers loopback clients only)',
    env: ['SWITCHBOARD_METRICS_TOKEN'],
    flag: 'metrics-token',
    meta: 'T',
    doc: '`/metrics` needs `Authorization: Bearer <token>` (16-256 printable ASCII)',
  },
  metricsPort: {
    section: 'metrics',
    type: PORT,
    shownDefault: '— (on the app port)',
    env: ['SWITCHBOARD_METRICS_PORT'],
    flag: 'metrics-port',
    doc: 'a listener of its own for `/metrics` and `/healthz`; the app port then has no `/metrics`; 0 = any free port',
  },
  metricsHost: {
    section: 'metrics',
    type: string,
    shownDefault: '127.0.0.1',
    env: ['SWITCHBOARD_METRICS_HOST'],
    flag: 'metrics-host',
    meta: 'H',
    doc: 'listen address of the metrics listener (needs `metricsPort`)',
  },
  // ice
  iceServers: {
    section: 'ice',
    type: iceServers,
    default: [],
    shownDefault: '[]',
    doc: 'static ICE servers handed to every client as they are: `[{urls, username?, credential?}]` (YAML only)',
  },
  // turn
  turnEnabled: {
    section: 'turn',
    type: bool,
    default: true,
    env: ['SWITCHBOARD_TURN_ENABLED'],
    flag: 'turn-enabled',
    doc: 'run the embedded STUN/TURN server',
  },
  turnPort: {
    section: 'turn',
    type: PORT,
    default: 3478,
    env: ['SWITCHBOARD_TURN_PORT'],
    flag: 'turn-port',
    doc: 'UDP and TCP port; 0 = any free port',
  },
  turnWorkers: {
    // Relaying in processes of its own: it never waits behind signaling or an MCU encode.
    section: 'turn',
    type: int(0, 64),
    default: availableParallelism(),
    shownDefault: 'number of cores',
    env: ['SWITCHBOARD_TURN_WORKERS'],
    flag: 'turn-workers',
    doc: 'TURN worker processes; worker i listens on `turnPort` + i (and `turnTlsPort` + i) and relays from its slice of the relay ports; 0 = TURN in the main process',
  },
  turnRelayPortMin: {
    // RFC 8656 §7.2: relay ports from the Dynamic and/or Private Port range.
    section: 'turn',
    type: int(1024, 65535),
    default: 49152,
    flag: 'turn-relay-port-min',
    doc: 'lowest relay port (UDP, and TCP for RFC 6062); split into disjoint slices, one per TURN worker',
  },
  turnRelayPortMax: {
    section: 'turn',
    type: int(1024, 65535),
    default: 65535,
    flag: 'turn-relay-port-max',
    doc: 'highest relay port',
  },
  turnTlsPort: {
    section: 'turn',
    type: PORT,
    default: 5349,
    shownDefault: '5349, when a certificate is set',
    flag: 'turn-tls-port',
    doc: 'TLS port, when a certificate is set (`turnTlsCert`/`turnTlsKey`, else `tlsCert`/`tlsKey`)',
  },
  turnTlsCert: {
    section: 'turn',
    type: string,
    shownDefault: '`tlsCert`',
    flag: 'turn-tls-cert',
    meta: 'FILE',
    doc: 'PEM certificate for TURN over TLS',
  },
  turnTlsKey: {
    section: 'turn',
    type: string,
    shownDefault: '`tlsKey`',
    flag: 'turn-tls-key',
    meta: 'FILE',
    doc: 'PEM private key of `turnTlsCert`',
  },
  turnHost: {
    section: 'turn',
    type: string,
    shownDefault: '`host`; every address (IPv4 + IPv6) when it is a wildcard',
    flag: 'turn-host',
    meta: 'H',
    doc: 'listen address',
  },
  turnRelayIp: {
    section: 'turn',
    type: string,
    shownDefault: 'the address the client reached',
    env: ['SWITCHBOARD_TURN_RELAY_IP'],
    flag: 'turn-relay-ip',
    meta: 'IP',
    doc: 'relay on this address',
  },
  turnExternalIp: {
    section: 'turn',
    type: string,
    shownDefault: '—',
    env: ['SWITCHBOARD_TURN_EXTERNAL_IP'],
    flag: 'turn-external-ip',
    meta: 'IP',
    doc: 'public IP of a server behind a 1:1 NAT (cloud VMs): relayed addresses are announced with it',
  },
  turnPublicHost: {
    section: 'turn',
    type: string,
    shownDefault: 'the host the client used for signaling',
    env: ['SWITCHBOARD_TURN_PUBLIC_HOST'],
    flag: 'turn-public-host',
    meta: 'H',
    doc: 'host put in the TURN URLs given to clients',
  },
  turnRealm: {
    section: 'turn',
    type: string,
    default: 'switchboard',
    env: ['SWITCHBOARD_TURN_REALM'],
    flag: 'turn-realm',
    meta: 'R',
    doc: 'long-term credential realm',
  },
  turnUsers: {
    section: 'turn',
    type: listOf(pattern(/^[^:]+:.+$/), 'name:password', true),
    default: [],
    env: ['SWITCHBOARD_TURN_USERS'],
    flag: 'turn-user',
    repeatable: true,
    meta: 'NAME:PASSWORD',
    doc: 'static long-term users',
  },
  turnSecret: {
    section: 'turn',
    type: string,
    shownDefault: 'random per process',
    env: ['SWITCHBOARD_TURN_SECRET'],
    flag: 'turn-secret',
    meta: 'S',
    doc: 'TURN REST secret: every client gets TURN URLs with a fresh username/password (also for an external server: `turnUrls`)',
  },
  turnAllowPeers: {
    section: 'turn',
    type: listOf(cidr, 'CIDRs (e.g. 10.0.0.0/8, fd00::/8)'),
    default: [],
    env: ['SWITCHBOARD_TURN_ALLOW_PEERS'],
    flag: 'turn-allow-peer',
    repeatable: true,
    meta: 'CIDR',
    doc: 'peers allowed although in a refused (private, loopback, …) range',
  },
  turnMaxAllocations: {
    section: 'turn',
    type: COUNT,
    default: 1000,
    flag: 'turn-max-allocations',
    doc: 'allocations plus held port reservations, in all',
  },
  turnMaxAllocationsPerUser: {
    section: 'turn',
    type: COUNT,
    shownDefault: '2 × (`maxMeshParticipants` − 1) × TURN URLs handed out: 42 with TLS, 28 without',
    flag: 'turn-max-allocations-per-user',
    doc: "allocations per identity (static user, or a REST username's identity)",
  },
  turnMaxAllocationsPerIp: {
    section: 'turn',
    type: COUNT,
    shownDefault: '3 × the per-identity quota',
    flag: 'turn-max-allocations-per-ip',
    doc: 'allocations per client IP',
  },
  turnMaxBitrateKbps: {
    // Enough for HD video plus screen share; a cap keeps one user from filling the uplink.
    section: 'turn',
    type: int(0, 10_000_000),
    default: 10_000,
    flag: 'turn-max-bitrate',
    meta: 'KBPS',
    doc: 'kbit/s per allocation and direction; 0 = no cap',
  },
  turnUrls: {
    section: 'turn',
    type: listOf(pattern(/^(turn|turns|stun|stuns):/), 'turn:/turns:/stun: URLs'),
    default: [],
    env: ['SWITCHBOARD_TURN_URLS'],
    flag: 'turn-urls',
    meta: 'turn:HOST:3478,turns:HOST:5349',
    doc: 'an external TURN server sharing `turnSecret` (comma list)',
  },
  turnCredentialTtlSeconds: {
    // Browsers reuse the credential for allocation refreshes, so it must outlive a long call.
    section: 'turn',
    type: int(60, 7 * 86_400),
    default: 86_400,
    flag: 'turn-credential-ttl',
    meta: 'SECONDS',
    doc: 'lifetime of a TURN REST credential',
  },
  // rtc
  rtcEnabled: {
    section: 'rtc',
    type: bool,
    default: true,
    flag: 'rtc-enabled',
    doc: "the SFU's media server; SFU and MCU rooms are refused when false",
  },
  rtcPort: {
    section: 'rtc',
    type: PORT,
    default: 40_000,
    env: ['SWITCHBOARD_RTC_PORT'],
    flag: 'rtc-port',
    doc: 'one UDP port for every WebRTC transport, plus ICE-TCP on the same TCP port; 0 = any free port',
  },
  rtcHost: {
    section: 'rtc',
    type: string,
    shownDefault: '0.0.0.0 and :: (one UDP socket per interface address)',
    flag: 'rtc-host',
    meta: 'H',
    doc: 'listen address of the RTC port',
  },
  announcedIps: {
    section: 'rtc',
    type: listOf(ip, 'IP addresses'),
    default: [],
    shownDefault: 'every non-loopback interface address',
    env: ['SWITCHBOARD_ANNOUNCED_IP'],
    flag: 'announced-ip',
    repeatable: true,
    meta: 'IP',
    doc: "addresses put in the SFU's ICE candidates (a public IP behind a 1:1 NAT)",
  },
  workers: {
    // One per core: each worker is one event loop, so that is what the machine can run at once.
    section: 'rtc',
    type: int(0, 256),
    default: availableParallelism(),
    shownDefault: 'number of cores',
    env: ['SWITCHBOARD_WORKERS'],
    flag: 'workers',
    meta: 'N',
    doc: 'media worker processes for SFU rooms, each on its own RTC port (`rtcPort` + i); 0 = media in the main process',
  },
  mcuWorkers: {
    section: 'rtc',
    type: int(0, 64),
    default: 1,
    env: ['SWITCHBOARD_MCU_WORKERS'],
    flag: 'mcu-workers',
    meta: 'N',
    doc: "worker processes for MCU rooms only, at niceness 10 (SFU forwarding, TURN and signaling go first), on the ports after the media workers'; 0 = MCU rooms share the media workers",
  },
  // mcu
  mcuWidth: {
    section: 'mcu',
    type: int(64, 3840),
    default: DEFAULT_MIXER_OPTIONS.width,
    env: ['SWITCHBOARD_MCU_WIDTH'],
    flag: 'mcu-width',
    doc: 'composed picture width (even)',
  },
  mcuHeight: {
    section: 'mcu',
    type: int(64, 2160),
    default: DEFAULT_MIXER_OPTIONS.height,
    env: ['SWITCHBOARD_MCU_HEIGHT'],
    flag: 'mcu-height',
    doc: 'composed picture height (even)',
  },
  mcuFps: {
    section: 'mcu',
    type: int(1, 30),
    default: DEFAULT_MIXER_OPTIONS.fps,
    env: ['SWITCHBOARD_MCU_FPS'],
    flag: 'mcu-fps',
    doc: 'composed picture frame rate',
  },
  mcuTiersKbps: {
    section: 'mcu',
    type: listOf(int(50, 50_000), 'bitrates in kbit/s (50-50000)'),
    default: DEFAULT_MIXER_OPTIONS.tiers.map((bps) => bps / 1000),
    env: ['SWITCHBOARD_MCU_TIERS'],
    flag: 'mcu-tier',
    repeatable: true,
    meta: 'KBPS',
    doc: "the composed video's quality tiers, lowest first, rising (each receiver gets the one its bandwidth affords)",
  },
  maxMcuRooms: {
    // Sized on this project's 2-core machine with bench/mcu-rooms.ts: one MCU room in use (a
    // publisher viewing its composite at the default 1280×720, 15 fps) cost 29–47 % of a core, four
    // such rooms 116 % (/healthz p50 59 ms), and a sixth room's peer could not even connect. Four
    // (about 2 per core) leaves room for rooms with more publishers or layouts (each viewed layout is
    // one more encode) and for signaling, TURN and the SFU. Bigger machines raise it.
    section: 'mcu',
    type: int(0, 100_000),
    default: 4,
    shownDefault: '4 (sized for 2 cores: see "MCU rooms" under Performance)',
    env: ['SWITCHBOARD_MAX_MCU_ROOMS'],
    flag: 'max-mcu-rooms',
    doc: 'MCU rooms at once; a join that would create one more gets `mcu-capacity`; 0 = no MCU rooms',
  },
  // cluster
  redis: {
    section: 'cluster',
    type: string,
    shownDefault: '— (a single node)',
    env: ['SWITCHBOARD_REDIS'],
    flag: 'redis',
    meta: 'URL',
    doc: '`redis://[user:password@]host:port[/db]` (or `rediss://`) shared by the nodes of a cluster',
  },
  nodeId: {
    section: 'cluster',
    type: string,
    shownDefault: 'random at each start',
    env: ['SWITCHBOARD_NODE_ID'],
    flag: 'node-id',
    meta: 'ID',
    doc: "this node's name in the cluster: 1-64 letters, digits, `-` or `_`; unique among the nodes",
  },
  nodeAddress: {
    section: 'cluster',
    type: string,
    shownDefault: 'the first non-internal IPv4 address, else 127.0.0.1',
    env: ['SWITCHBOARD_NODE_ADDRESS'],
    flag: 'node-address',
    meta: 'IP',
    doc: "the address other nodes reach this node's media pipes at",
  },
} as const satisfies Record<string, ConfigEntry & { readonly section: SectionName }>;

export type ConfigSchema = typeof CONFIG_SCHEMA;
export type ConfigKey = keyof ConfigSchema;
