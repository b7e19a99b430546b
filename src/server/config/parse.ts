/**
 * Loading the config: the schema's defaults, overridden by a YAML file, then environment
 * variables, then command-line flags. Every value is checked against its key's type and range as
 * it is read (text from env and flags is parsed first); a bad one stops startup with a
 * SwitchboardError('invalid-config') naming the key. Rules across keys are checked once all
 * layers are merged (a file may set one key of a pair, a flag the other).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import type { IceServer } from '../../protocol/index.js';
import { SwitchboardError } from '../../protocol/errors.js';
import { isNodeId, isRedisUrl, redactRedisUrl } from '../../cluster/node-identity.js';
import { checkCidr } from '../../turn/peer-filter.js';
import { CONFIG_SCHEMA, type ConfigKey } from './schema.js';
import type { ServerConfig } from './types.js';
import type { ItemType, ScalarType, ValueType } from './value-types.js';

const ENTRIES: Readonly<Record<string, (typeof CONFIG_SCHEMA)[ConfigKey]>> = CONFIG_SCHEMA;

export function configError(key: string, problem: string, value: unknown): SwitchboardError {
  return new SwitchboardError('invalid-config', `invalid config: ${key} ${problem} (got ${JSON.stringify(value)})`, key);
}

/** Every key with a default, at its default (lists and mappings copied: a config may be changed by its holder). */
export function defaultConfig(): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(ENTRIES)) {
    if (!('default' in entry)) continue;
    const d: unknown = entry.default;
    out[key] = Array.isArray(d) ? [...(d as unknown[])] : typeof d === 'object' && d !== null ? { ...d } : d;
  }
  return out as ServerConfig;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkScalar(key: string, type: ScalarType, value: unknown): string | number | boolean {
  switch (type.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < type.min || value > type.max) {
        throw configError(key, `must be an integer ${type.min}-${type.max}`, value);
      }
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw configError(key, 'must be true or false', value);
      return value;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) throw configError(key, 'must be a non-empty string', value);
      return value;
    case 'enum':
      if (typeof value !== 'string' || !type.values.includes(value)) {
        throw configError(key, `must be one of ${type.values.join(', ')}`, value);
      }
      return value;
  }
}

/** One list item, or undefined when it is not one. Number items may be written as text (env, flags, a YAML string). */
function checkItem(type: ItemType, item: unknown): string | number | undefined {
  switch (type.kind) {
    case 'int': {
      const n = typeof item === 'string' && /^\d+$/.test(item) ? Number(item) : item;
      return typeof n === 'number' && Number.isInteger(n) && n >= type.min && n <= type.max ? n : undefined;
    }
    case 'ip':
      return typeof item === 'string' && isIP(item) !== 0 ? item : undefined;
    case 'cidr':
      if (typeof item !== 'string') return undefined;
      try {
        checkCidr(item);
        return item;
      } catch {
        return undefined;
      }
    case 'pattern':
      return typeof item === 'string' && type.pattern.test(item) ? item : undefined;
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function checkIceServers(value: unknown): IceServer[] {
  if (!Array.isArray(value)) throw configError('iceServers', 'must be a list', value);
  return value.map((entry, i) => {
    const key = `iceServers[${i}]`;
    if (!isRecord(entry)) throw configError(key, 'must be a mapping with urls', entry);
    const urls = typeof entry.urls === 'string' ? [entry.urls] : entry.urls;
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^(stun|stuns|turn|turns):/.test(u))) {
      throw configError(`${key}.urls`, 'must be stun:/turn: URLs', entry.urls);
    }
    const out: IceServer = { urls: urls as string[] };
    for (const k of Object.keys(entry)) {
      if (k === 'urls') continue;
      if (k !== 'username' && k !== 'credential') throw configError(`${key}.${k}`, 'is not a known key', entry[k]);
      if (typeof entry[k] !== 'string') throw configError(`${key}.${k}`, 'must be a string', entry[k]);
      out[k] = entry[k];
    }
    return out;
  });
}

/** A value as YAML (or code) gives it, checked against its key's type; `current` is what a partial mapping merges onto. */
function checkValue(key: string, type: ValueType, value: unknown, current: unknown): unknown {
  switch (type.kind) {
    case 'list': {
      const problem = `must be a list of ${type.items}`;
      const items = typeof value === 'string' ? splitList(value) : value;
      if (!Array.isArray(items)) throw configError(key, problem, value);
      return items.map((item: unknown) => {
        const checked = checkItem(type.item, item);
        if (checked === undefined) throw configError(key, problem, value);
        return checked;
      });
    }
    case 'mapping': {
      const names = Object.keys(type.fields);
      if (!isRecord(value)) throw configError(key, `must be a mapping with ${names.join(' and ')}`, value);
      const out: Record<string, unknown> = { ...(current as Record<string, unknown>) };
      for (const [name, v] of Object.entries(value)) {
        const field = type.fields[name];
        if (!field) throw configError(`${key}.${name}`, 'is not a known key', v);
        out[name] = checkScalar(`${key}.${name}`, field, v);
      }
      return out;
    }
    case 'iceServers':
      return checkIceServers(value);
    default:
      return checkScalar(key, type, value);
  }
}

/** Validates a partial config (from YAML, or `startSwitchboard()` overrides) and merges it onto `base`. */
export function mergeConfig(base: ServerConfig, layer: Readonly<Record<string, unknown>>): ServerConfig {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const entry = ENTRIES[key];
    if (!entry) throw configError(key, 'is not a known key', value);
    out[key] = checkValue(key, entry.type, value, out[key]);
  }
  return out as ServerConfig;
}

/**
 * Text from env or a flag, as YAML would give the value: integers and booleans parsed ("abc"
 * stays a string, and fails its check naming the key), lists split at commas. The values of a
 * repeated flag are items as given, each split at commas unless the list's items may hold one.
 */
function fromText(type: ValueType, text: string | readonly string[]): unknown {
  if (Array.isArray(text)) {
    return type.kind === 'list' && !type.commaInItems ? text.flatMap((t: string) => splitList(t)) : text;
  }
  const s = (text as string).trim();
  if (type.kind === 'int' && /^-?\d+$/.test(s)) return Number(s);
  if (type.kind === 'bool' && /^(true|false)$/.test(s)) return s === 'true';
  return text;
}

/** Rules across keys, checked once all layers are merged (a file may set one, a flag the other). */
export function checkConfig(c: ServerConfig): ServerConfig {
  if (!c.turnEnabled && c.turnSecret !== undefined && c.turnUrls.length === 0) {
    throw configError('turnUrls', 'must list the TURN server URLs when turnSecret is set and the embedded TURN server is off', c.turnUrls);
  }
  if ((c.turnTlsCert === undefined) !== (c.turnTlsKey === undefined)) {
    const missing = c.turnTlsCert ? 'turnTlsKey' : 'turnTlsCert';
    throw configError(missing, 'must be set together with the other TLS file', c.turnTlsCert ?? c.turnTlsKey);
  }
  // Each TURN worker relays from a slice of its own; an EVEN-PORT pair needs two ports of one slice.
  const relayPorts = c.turnRelayPortMax - c.turnRelayPortMin + 1;
  if (relayPorts < 2 * Math.max(1, c.turnWorkers)) {
    throw configError(
      'turnRelayPortMax',
      `must leave at least 2 relay ports per TURN worker above turnRelayPortMin (${c.turnRelayPortMin}, ${c.turnWorkers} workers)`,
      c.turnRelayPortMax,
    );
  }
  if (c.turnWorkers > 1 && c.turnPort !== 0 && c.turnPort + c.turnWorkers - 1 > 65535) {
    throw configError('turnPort', `leaves no room for ${c.turnWorkers} TURN workers' ports (turnPort + i)`, c.turnPort);
  }
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw configError(c.tlsCert ? 'tlsKey' : 'tlsCert', 'must be set together with the other TLS file', c.tlsCert ?? c.tlsKey);
  }
  // Sent in an HTTP header and compared whole: printable ASCII, long enough not to be guessed.
  if (c.metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(c.metricsToken)) {
    throw configError('metricsToken', 'must be 16-256 printable ASCII characters without spaces', '(hidden)');
  }
  if (c.metricsHost !== undefined && c.metricsPort === undefined) {
    throw configError('metricsHost', 'needs metricsPort (the separate metrics listener)', c.metricsHost);
  }
  if (c.metricsPort !== undefined && c.metricsPort !== 0 && c.metricsPort === c.port) {
    throw configError('metricsPort', 'must differ from port', c.metricsPort);
  }
  // 4:2:0 video: chroma planes are half the size, so the composed picture's sides are even.
  if (c.mcuWidth % 2 !== 0) throw configError('mcuWidth', 'must be even', c.mcuWidth);
  if (c.mcuHeight % 2 !== 0) throw configError('mcuHeight', 'must be even', c.mcuHeight);
  if (c.mcuTiersKbps.length === 0) throw configError('mcuTiersKbps', 'must list at least one bitrate', c.mcuTiersKbps);
  // Tiers are the output's simulcast layers: the allocator climbs them in order.
  if (c.mcuTiersKbps.some((k, i) => i > 0 && k <= c.mcuTiersKbps[i - 1]!)) {
    throw configError('mcuTiersKbps', 'must rise from the lowest tier to the highest', c.mcuTiersKbps);
  }
  if (c.redis !== undefined && !isRedisUrl(c.redis)) {
    throw configError('redis', 'must be a redis:// or rediss:// URL with a host', redactRedisUrl(c.redis));
  }
  if (c.nodeId !== undefined && !isNodeId(c.nodeId)) {
    throw configError('nodeId', 'must be 1-64 letters, digits, "-" or "_"', c.nodeId);
  }
  if (c.nodeAddress !== undefined && isIP(c.nodeAddress) === 0) throw configError('nodeAddress', 'must be an IP address', c.nodeAddress);
  return c;
}

export interface ConfigSources {
  /** YAML file path (flag --config or SWITCHBOARD_CONFIG). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** Flag values keyed by flag name without the dashes, as parsed by the CLI (repeated flags: arrays). */
  flags?: Readonly<Record<string, string | readonly string[] | undefined>>;
}

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError('config', `file cannot be read: ${(err as Error).message}`, file);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw configError('config', `is not valid YAML: ${(err as Error).message}`, file);
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw configError('config', 'must be a YAML mapping', file);
  return doc;
}

/** defaults < YAML file < environment < flags; the result is checked. */
export function loadConfig(sources: ConfigSources): ServerConfig {
  let config = defaultConfig();
  const env = sources.env ?? {};
  const file = sources.file ?? env.SWITCHBOARD_CONFIG;
  if (file) config = mergeConfig(config, readYaml(file));
  const fromEnv: Record<string, unknown> = {};
  const fromFlags: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(ENTRIES)) {
    for (const name of 'env' in entry ? entry.env : []) {
      const text = env[name];
      if (text !== undefined) fromEnv[key] = fromText(entry.type, text);
    }
    const flag = 'flag' in entry ? sources.flags?.[entry.flag] : undefined;
    if (flag !== undefined) fromFlags[key] = fromText(entry.type, flag);
  }
  config = mergeConfig(config, fromEnv);
  config = mergeConfig(config, fromFlags);
  return checkConfig(config);
}
