/** Configuration: precedence and errors that name the key. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { DEFAULT_MIXER_OPTIONS } from '../../src/mcu/Mixer.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import {
  CONFIG_SCHEMA,
  SECTIONS,
  configMarkdown,
  configSections,
  defaultConfig,
  loadConfig,
  mergeConfig,
  readmeTable,
  resolveConfig,
} from '../../src/server/config.js';
import { mixerOptionsOf } from '../../src/server/sfu.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function yamlFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test('defaults', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.authSecret, undefined);
  assert.equal(c.resumeGraceMs, 30_000);
  assert.equal(c.callRingMs, 30_000);
  assert.match(c.webRoot, /dist\/web\/$/);
});

test('file < env < flags', () => {
  const file = yamlFile(
    'a.yaml',
    'port: 9000\nhost: 127.0.0.1\nlogLevel: warn\nrateLimit:\n  perSecond: 5\n  burst: 9\niceServers:\n  - urls: stun:stun.example.org:3478\n',
  );
  const fromFile = loadConfig({ file, env: {} });
  assert.deepEqual(
    [fromFile.port, fromFile.host, fromFile.logLevel, fromFile.rateLimit],
    [9000, '127.0.0.1', 'warn', { perSecond: 5, burst: 9 }],
  );
  assert.deepEqual(fromFile.iceServers, [{ urls: ['stun:stun.example.org:3478'] }]);
  const fromEnv = loadConfig({ file, env: { PORT: '9100', SWITCHBOARD_AUTH_SECRET: 's3cret' } });
  assert.deepEqual([fromEnv.port, fromEnv.authSecret, fromEnv.host], [9100, 's3cret', '127.0.0.1']);
  const fromFlags = loadConfig({ file, env: { PORT: '9100' }, flags: { port: '9200', 'log-level': 'debug' } });
  assert.deepEqual([fromFlags.port, fromFlags.logLevel], [9200, 'debug']);
  const viaEnvFile = loadConfig({ env: { SWITCHBOARD_CONFIG: file } });
  assert.equal(viaEnvFile.port, 9000);
});

test('bad values stop with a message naming the key', () => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => loadConfig({ env: {}, flags: { port: 'abc' } }), /^invalid config: port must be an integer 0-65535 \(got "abc"\)$/],
    [() => loadConfig({ env: { PORT: '70000' } }), /^invalid config: port must be an integer 0-65535 \(got 70000\)$/],
    [() => loadConfig({ env: {}, flags: { 'log-level': 'loud' } }), /^invalid config: logLevel must be one of fatal, error/],
    [() => loadConfig({ file: yamlFile('b.yaml', 'prot: 80\n'), env: {} }), /^invalid config: prot is not a known key/],
    [
      () => loadConfig({ file: yamlFile('c.yaml', 'rateLimit:\n  perSecnd: 1\n'), env: {} }),
      /^invalid config: rateLimit.perSecnd is not a known key/,
    ],
    [
      () => loadConfig({ file: yamlFile('d.yaml', 'iceServers:\n  - urls: http://x\n'), env: {} }),
      /^invalid config: iceServers\[0\].urls must be stun:\/turn: URLs/,
    ],
    [() => loadConfig({ file: yamlFile('e.yaml', 'port: [1\n'), env: {} }), /^invalid config: config is not valid YAML/],
    [() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /^invalid config: config file cannot be read/],
    [
      () => loadConfig({ env: {}, flags: { 'tls-cert': '/x/cert.pem' } }),
      /^invalid config: tlsKey must be set together with the other TLS file/,
    ],
    [() => mergeConfig(defaultConfig(), { heartbeatMs: 5 }), /^invalid config: heartbeatMs must be an integer 100-600000 \(got 5\)$/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, { name: 'SwitchboardError', code: 'invalid-config', message: re });
});

test('TURN REST settings and rules across layers', () => {
  const c = loadConfig({
    env: { SWITCHBOARD_TURN_SECRET: 'ts', SWITCHBOARD_TURN_URLS: 'turn:a.example:3478?transport=udp, turns:a.example:5349' },
  });
  assert.deepEqual(
    [c.turnSecret, c.turnUrls, c.turnCredentialTtlSeconds],
    ['ts', ['turn:a.example:3478?transport=udp', 'turns:a.example:5349'], 86_400],
  );
  // A secret alone is for the embedded TURN server; with it off, the external server's URLs are needed.
  assert.equal(loadConfig({ env: { SWITCHBOARD_TURN_SECRET: 'ts' } }).turnSecret, 'ts');
  assert.throws(() => loadConfig({ env: { SWITCHBOARD_TURN_SECRET: 'ts', SWITCHBOARD_TURN_ENABLED: 'false' } }), {
    message: /^invalid config: turnUrls must list the TURN server URLs when turnSecret is set/,
  });
  assert.throws(() => loadConfig({ env: {}, flags: { 'turn-urls': 'http://x' } }), {
    message: /^invalid config: turnUrls must be a list of turn:\/turns:\/stun: URLs/,
  });
  assert.throws(() => loadConfig({ env: {}, flags: { 'turn-credential-ttl': '5' } }), {
    message: /^invalid config: turnCredentialTtlSeconds must be an integer 60-604800/,
  });
  // Embedded TURN server settings: repeatable flags, CIDRs checked, booleans.
  const t = loadConfig({
    env: { SWITCHBOARD_TURN_ENABLED: 'false' },
    flags: { 'turn-user': ['a:b', 'c:d:e'], 'turn-allow-peer': ['10.0.0.0/8', 'fd00::/8'], 'turn-port': '0', 'turn-max-bitrate': '0' },
  });
  assert.deepEqual(
    [t.turnEnabled, t.turnUsers, t.turnAllowPeers, t.turnPort, t.turnMaxBitrateKbps],
    [false, ['a:b', 'c:d:e'], ['10.0.0.0/8', 'fd00::/8'], 0, 0],
  );
  assert.equal(defaultConfig().turnPort, 3478);
  assert.throws(() => loadConfig({ env: {}, flags: { 'turn-allow-peer': ['10.0.0.0/33'] } }), {
    message: /^invalid config: turnAllowPeers must be a list of CIDRs/,
  });
  assert.throws(() => loadConfig({ env: {}, flags: { 'turn-user': ['nopassword'] } }), {
    message: /^invalid config: turnUsers must be a list of name:password/,
  });
  assert.throws(() => loadConfig({ env: { SWITCHBOARD_TURN_ENABLED: 'maybe' } }), {
    message: /^invalid config: turnEnabled must be true or false/,
  });
  // A file may set one half of a pair and a flag the other.
  const file = yamlFile('tls.yaml', 'tlsCert: /x/cert.pem\n');
  const both = loadConfig({ file, env: {}, flags: { 'tls-key': '/x/key.pem' } });
  assert.deepEqual([both.tlsCert, both.tlsKey], ['/x/cert.pem', '/x/key.pem']);
});

test('RTC port and announced addresses: flags, env, repeatable, validated', () => {
  const d = loadConfig({ env: {} });
  assert.equal(d.rtcPort, 40_000);
  assert.equal(d.rtcEnabled, true);
  assert.deepEqual(d.announcedIps, []);
  const c = loadConfig({ env: { SWITCHBOARD_RTC_PORT: '41000' }, flags: { 'announced-ip': ['203.0.113.5', '2001:db8::5'] } });
  assert.equal(c.rtcPort, 41_000);
  assert.deepEqual(c.announcedIps, ['203.0.113.5', '2001:db8::5']);
  assert.deepEqual(loadConfig({ env: { SWITCHBOARD_ANNOUNCED_IP: '198.51.100.1, 198.51.100.2' } }).announcedIps, [
    '198.51.100.1',
    '198.51.100.2',
  ]);
  assert.throws(() => loadConfig({ env: {}, flags: { 'announced-ip': ['example.org'] } }), /announcedIps must be a list of IP addresses/);
  assert.throws(() => loadConfig({ env: {}, flags: { 'rtc-port': '70000' } }), /rtcPort must be an integer 0-65535/);
});

test('MCU picture size, rate and tiers: defaults, flags and env, validated', () => {
  const d = loadConfig({ env: {} });
  assert.deepEqual([d.mcuWidth, d.mcuHeight, d.mcuFps, d.mcuTiersKbps], [1280, 720, 15, [300, 700, 1500]]);
  const c = loadConfig({
    env: { SWITCHBOARD_MCU_FPS: '10', SWITCHBOARD_MCU_TIERS: '200, 900' },
    flags: { 'mcu-width': '960', 'mcu-height': '540' },
  });
  assert.deepEqual([c.mcuWidth, c.mcuHeight, c.mcuFps, c.mcuTiersKbps], [960, 540, 10, [200, 900]]);
  assert.throws(() => loadConfig({ env: {}, flags: { 'mcu-width': '961' } }), /mcuWidth must be even/);
  assert.throws(() => loadConfig({ env: {}, flags: { 'mcu-fps': '60' } }), /mcuFps must be an integer 1-30/);
  assert.throws(() => loadConfig({ env: { SWITCHBOARD_MCU_TIERS: '900,200' } }), /mcuTiersKbps must rise/);
  assert.throws(() => loadConfig({ env: { SWITCHBOARD_MCU_TIERS: '1.5M' } }), /mcuTiersKbps must be a list of bitrates/);
});

test('maxMcuRooms: default for a 2-core machine, from a file, env and flags, validated', () => {
  assert.equal(loadConfig({ env: {} }).maxMcuRooms, 4);
  assert.equal(loadConfig({ file: yamlFile('mcu.yaml', 'maxMcuRooms: 12\n'), env: {} }).maxMcuRooms, 12);
  assert.equal(loadConfig({ env: { SWITCHBOARD_MAX_MCU_ROOMS: '3' } }).maxMcuRooms, 3);
  assert.equal(
    loadConfig({ env: { SWITCHBOARD_MAX_MCU_ROOMS: '3' }, flags: { 'max-mcu-rooms': '0' } }).maxMcuRooms,
    0,
    '0: no MCU rooms at all',
  );
  assert.throws(() => loadConfig({ env: {}, flags: { 'max-mcu-rooms': '-1' } }), {
    name: 'SwitchboardError',
    message: /^invalid config: maxMcuRooms must be an integer 0-100000 \(got -1\)$/,
  });
  assert.throws(() => loadConfig({ env: { SWITCHBOARD_MAX_MCU_ROOMS: 'many' } }), {
    name: 'SwitchboardError',
    message: /maxMcuRooms must be an integer/,
  });
});

test('signaling limits and the metrics endpoint: defaults, flags and env, validated', () => {
  const d = loadConfig({ env: {} });
  assert.deepEqual(
    [
      d.helloTimeoutMs,
      d.maxConnectionsPerIp,
      d.maxOutboundBufferBytes,
      d.callInvitesPer10s,
      d.callRingsPer10s,
      d.metricsToken,
      d.metricsPort,
      d.metricsHost,
    ],
    [10_000, 32, 1024 * 1024, 5, 5, undefined, undefined, undefined],
  );
  const f = loadConfig({
    env: { SWITCHBOARD_METRICS_TOKEN: 'tok-0123456789abcdef', SWITCHBOARD_MAX_CONNECTIONS_PER_IP: '200' },
    flags: {
      'hello-timeout-ms': '2500',
      'max-outbound-buffer-bytes': '262144',
      'call-invites-per-10s': '3',
      'call-rings-per-10s': '4',
      'metrics-port': '9464',
      'metrics-host': '10.0.0.5',
    },
  });
  assert.deepEqual(
    [
      f.helloTimeoutMs,
      f.maxConnectionsPerIp,
      f.maxOutboundBufferBytes,
      f.callInvitesPer10s,
      f.callRingsPer10s,
      f.metricsToken,
      f.metricsPort,
      f.metricsHost,
    ],
    [2500, 200, 262_144, 3, 4, 'tok-0123456789abcdef', 9464, '10.0.0.5'],
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'max-connections-per-ip': '0' } }),
    /maxConnectionsPerIp must be an integer 1-1000000/,
  );
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'max-outbound-buffer-bytes': '1000' } }),
    /maxOutboundBufferBytes must be an integer 65536-/,
  );
  assert.throws(() => loadConfig({ env: {}, flags: { 'metrics-token': 'short' } }), /metricsToken must be 16-256 printable ASCII/);
  assert.throws(() => loadConfig({ env: {}, flags: { 'metrics-host': '127.0.0.1' } }), /metricsHost needs metricsPort/);
  assert.throws(() => loadConfig({ env: {}, flags: { port: '9000', 'metrics-port': '9000' } }), /metricsPort must differ from port/);
});

test('MCU tiers: numbers at load, a repeated --mcu-tier accumulates, YAML numbers or text', () => {
  assert.deepEqual(loadConfig({ env: {}, flags: { 'mcu-tier': ['300', '700'] } }).mcuTiersKbps, [300, 700]);
  assert.deepEqual(loadConfig({ env: {}, flags: { 'mcu-tier': ['200,500', '900'] } }).mcuTiersKbps, [200, 500, 900]);
  // Both values are kept: in this order they do not rise.
  assert.throws(() => loadConfig({ env: {}, flags: { 'mcu-tier': ['700', '300'] } }), /mcuTiersKbps must rise/);
  assert.deepEqual(loadConfig({ file: yamlFile('tiers.yaml', 'mcuTiersKbps: [250, "800"]\n'), env: {} }).mcuTiersKbps, [250, 800]);
  // A repeated flag's value is an item as given where an item may hold a comma (a password).
  assert.deepEqual(loadConfig({ env: {}, flags: { 'turn-user': ['a:p,w'] } }).turnUsers, ['a:p,w']);
});

test('a wrong type or range names the key, in the error and its field', () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ mcuTiersKbps: [300, 'fast'] }, 'mcuTiersKbps', /^invalid config: mcuTiersKbps must be a list of bitrates in kbit\/s \(50-50000\)/],
    [{ mcuTiersKbps: [10] }, 'mcuTiersKbps', /mcuTiersKbps must be a list of bitrates/],
    [{ turnEnabled: 'yes' }, 'turnEnabled', /^invalid config: turnEnabled must be true or false \(got "yes"\)$/],
    [{ rtcPort: 65536 }, 'rtcPort', /^invalid config: rtcPort must be an integer 0-65535 \(got 65536\)$/],
    [{ port: '80' }, 'port', /^invalid config: port must be an integer 0-65535 \(got "80"\)$/],
    [{ rateLimit: { burst: 0 } }, 'rateLimit.burst', /^invalid config: rateLimit.burst must be an integer 1-1000000 \(got 0\)$/],
    [{ rateLimit: 5 }, 'rateLimit', /^invalid config: rateLimit must be a mapping with perSecond and burst/],
    [{ host: '' }, 'host', /^invalid config: host must be a non-empty string/],
    [{ announcedIps: '203.0.113.5, nowhere' }, 'announcedIps', /announcedIps must be a list of IP addresses/],
  ];
  for (const [layer, key, re] of cases) {
    assert.throws(
      () => mergeConfig(defaultConfig(), layer),
      (err: unknown) => {
        assert.ok(err instanceof SwitchboardError);
        assert.deepEqual([err.code, err.field], ['invalid-config', key]);
        assert.match(err.message, re);
        return true;
      },
    );
  }
  // A mapping may be set in part; the rest keeps its default.
  assert.deepEqual(mergeConfig(defaultConfig(), { rateLimit: { burst: 7 } }).rateLimit, { perSecond: 50, burst: 7 });
});

test('sections: every key once, under its name without the section prefix', () => {
  const sections = configSections(loadConfig({ env: {}, flags: { 'tls-cert': '/c.pem', 'tls-key': '/k.pem', 'turn-port': '0' } }));
  assert.deepEqual(Object.keys(sections), Object.keys(SECTIONS));
  assert.deepEqual(sections.mcu, { width: 1280, height: 720, fps: 15, tiersKbps: [300, 700, 1500], maxMcuRooms: 4 });
  assert.deepEqual(sections.tls, { cert: '/c.pem', key: '/k.pem' });
  assert.deepEqual([sections.turn.port, sections.turn.tlsPort, sections.turn.enabled, sections.log.level], [0, 5349, true, 'info']);
  assert.deepEqual(sections.signaling.rateLimit, { perSecond: 50, burst: 200 });
  // Set optional keys and defaults together cover the schema, each key in one section.
  const all = resolveConfig({
    authSecret: 's',
    metricsToken: 'tok-0123456789abcdef',
    metricsPort: 9464,
    metricsHost: '127.0.0.1',
    turnTlsCert: 'c',
    turnTlsKey: 'k',
    turnHost: 'h',
    turnRelayIp: '1.2.3.4',
    turnExternalIp: '1.2.3.5',
    turnPublicHost: 'p',
    turnSecret: 't',
    turnMaxAllocationsPerUser: 5,
    turnMaxAllocationsPerIp: 6,
    rtcHost: '127.0.0.1',
    tlsCert: 'c',
    tlsKey: 'k',
    redis: 'redis://127.0.0.1:6379',
    nodeId: 'node-1',
    nodeAddress: '10.0.0.7',
  });
  assert.deepEqual(all.cluster, { redis: 'redis://127.0.0.1:6379', nodeId: 'node-1', nodeAddress: '10.0.0.7' });
  const fields = Object.values(all).reduce((n, section) => n + Object.keys(section).length, 0);
  assert.equal(fields, Object.keys(CONFIG_SCHEMA).length);
});

test('cluster keys: unset by default (one node); a bad URL, id or address names the key, a password is not shown', () => {
  assert.deepEqual(configSections(loadConfig({ env: {} })).cluster, {});
  const set = loadConfig({
    env: { SWITCHBOARD_REDIS: 'rediss://u:pw@redis.example:6380/2' },
    flags: { 'node-id': 'eu-1_a', 'node-address': '10.1.2.3' },
  });
  assert.deepEqual([set.redis, set.nodeId, set.nodeAddress], ['rediss://u:pw@redis.example:6380/2', 'eu-1_a', '10.1.2.3']);
  assert.throws(
    () => loadConfig({ env: {}, flags: { redis: 'http://u:secret@h:6379' } }),
    (err: Error) => {
      assert.match(err.message, /redis must be a redis:\/\/ or rediss:\/\/ URL/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: {}, flags: { 'node-id': 'a:b' } }), /nodeId must be 1-64 letters/);
  assert.throws(() => loadConfig({ env: {}, flags: { 'node-address': 'somewhere' } }), /nodeAddress must be an IP address/);
});

test("the MCU mixer's defaults are the schema's", () => {
  assert.deepEqual(
    { ...DEFAULT_MIXER_OPTIONS, tiers: [...DEFAULT_MIXER_OPTIONS.tiers] },
    mixerOptionsOf(configSections(defaultConfig()).mcu),
  );
  assert.deepEqual(DEFAULT_MIXER_OPTIONS.tiers, [300_000, 700_000, 1_500_000]);
});

test('the README configuration table is the one the schema makes (switchboard config --markdown)', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const table = readmeTable(readme);
  assert.ok(table !== undefined, 'README.md has the config-table markers');
  assert.equal(
    table,
    configMarkdown(),
    'README.md is out of date: put the output of `node dist/src/cli/main.js config --markdown` between the markers',
  );
  for (const key of Object.keys(CONFIG_SCHEMA)) assert.ok(table.includes(`| \`${key}\` |`), key);
});
