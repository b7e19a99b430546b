/**
 * `switchboard loadtest` as a user runs it: the CLI in a child process against a real server
 * started here on loopback (ephemeral ports), one room with one publisher and three subscribers
 * on node-datachannel, five seconds. The JSON report must show every subscriber receiving audio
 * and video at the rate sent, without loss, with join times, a latency that is plausible for
 * loopback, and the server's CPU (scraped from its /metrics). Refusals are exact.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startSwitchboard, type Switchboard } from '../../src/server/app.js';
import type { LoadtestReport } from '../../bench/loadtest/report.js';

const run = promisify(execFile);
const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

let server: Switchboard;

before(async () => {
  server = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
});

after(async () => {
  await server.close();
});

async function usageError(args: string[]): Promise<string> {
  try {
    await run('node', [CLI, 'loadtest', ...args], { timeout: 30_000 });
  } catch (err) {
    const e = err as { code: number; stderr: string };
    assert.equal(e.code, 2, e.stderr);
    return e.stderr.split('\n')[0] as string;
  }
  throw new Error('the loadtest accepted bad arguments');
}

test('1 publisher, 3 subscribers for 5 s: every track at the sent rate, no loss, join times, latency, server CPU', async () => {
  const { stdout } = await run(
    'node',
    [CLI, 'loadtest', '--url', server.url, '--rooms', '1', '--publishers', '1', '--subscribers', '3', '--duration', '5', '--json'],
    { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as LoadtestReport;
  assert.equal(report.driver, 'switchboard');
  assert.deepEqual(report.errors, []);
  const sentVideo = report.sent.find((s) => s.kind === 'video');
  const sentAudio = report.sent.find((s) => s.kind === 'audio');
  assert.ok(sentVideo && sentAudio, 'the publisher reports both tracks');
  assert.ok(Math.abs(sentVideo.bitrate - 1_500_000) < 0.3 * 1_500_000, `video sent at ${sentVideo.bitrate} bit/s, asked 1.5 Mbit/s`);
  for (const sub of ['sub-0-0', 'sub-0-1', 'sub-0-2']) {
    for (const kind of ['audio', 'video'] as const) {
      const t = report.tracks.find((r) => r.subscriber === sub && r.kind === kind);
      assert.ok(t, `${sub} receives ${kind}`);
      assert.equal(t.publisher, 'pub-0-0');
      const sentRate: number = kind === 'video' ? sentVideo.bitrate : sentAudio.bitrate;
      assert.equal(t.sentBitrate, sentRate);
      assert.ok(Math.abs(t.bitrate - sentRate) <= 0.3 * sentRate, `${sub} ${kind}: ${t.bitrate} bit/s received, ${sentRate} sent`);
      assert.ok(t.packets > (kind === 'video' ? 300 : 150), `${sub} ${kind}: ${t.packets} packets`);
      assert.equal(t.lost, 0, `${sub} ${kind} lost packets`);
      assert.ok(t.latencyP50Ms !== null && t.latencyP50Ms > 0 && t.latencyP50Ms < 200, `${sub} ${kind}: latency p50 ${t.latencyP50Ms} ms`);
      assert.ok(t.latencyP99Ms !== null && t.latencyP99Ms >= t.latencyP50Ms);
      assert.ok(t.jitterMs >= 0 && t.jitterMs < 100, `${sub} ${kind}: jitter ${t.jitterMs} ms`);
    }
  }
  assert.equal(report.tracks.length, 6);
  assert.equal(report.totals.missingTracks, 0);
  const j = report.joinTime;
  assert.equal(j.publishers.failed, 0);
  assert.equal(j.subscribers.failed, 0);
  assert.equal(j.subscribers.count, 3);
  assert.ok(j.publishers.p50Ms !== null && j.publishers.p50Ms > 0);
  assert.ok(
    j.subscribers.p50Ms !== null && j.subscribers.p50Ms > 0 && j.subscribers.p99Ms !== null && j.subscribers.p99Ms >= j.subscribers.p50Ms,
  );
  assert.ok(report.serverCpu, 'server CPU measured');
  assert.match(report.serverCpu.source, /\/metrics$/);
  assert.ok(report.serverCpu.cpuSeconds > 0, `server CPU ${report.serverCpu.cpuSeconds} s`);
});

test('--peer wrtc: a libwebrtc publisher encoding synthetic frames reaches a subscriber', async () => {
  const { stdout } = await run(
    'node',
    [
      CLI,
      'loadtest',
      '--url',
      server.url,
      '--rooms',
      '1',
      '--publishers',
      '1',
      '--subscribers',
      '1',
      '--duration',
      '4',
      '--peer',
      'wrtc',
      '--room-prefix',
      'wrtc',
      '--json',
    ],
    { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as LoadtestReport;
  assert.deepEqual(report.errors, []);
  for (const kind of ['audio', 'video'] as const) {
    const t = report.tracks.find((r) => r.kind === kind);
    assert.ok(t, `the subscriber receives ${kind}`);
    assert.equal(t.publisher, 'pub-0-0', 'named through the driver (libwebrtc packets carry no trailer)');
    assert.ok(t.packets > 50, `${kind}: ${t.packets} packets`);
    assert.ok(t.bitrate > (kind === 'video' ? 50_000 : 10_000), `${kind}: ${t.bitrate} bit/s`);
    assert.equal(t.latencyP50Ms, null, 'no capture time without the trailer');
    const sent = report.sent.find((s) => s.kind === kind);
    assert.ok(sent && sent.packets > 0, `libwebrtc reports sending ${kind}`);
  }
});

test('a server with an auth secret: peers join with tokens minted from SWITCHBOARD_AUTH_SECRET, and are refused without', async () => {
  const secret = 'loadtest-secret-'.padEnd(40, 'x');
  const guarded = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent', authSecret: secret });
  try {
    const args = [
      CLI,
      'loadtest',
      '--url',
      guarded.url,
      '--rooms',
      '1',
      '--publishers',
      '1',
      '--subscribers',
      '1',
      '--duration',
      '2',
      '--join-timeout',
      '10',
      '--json',
    ];
    const { stdout } = await run('node', args, {
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, SWITCHBOARD_AUTH_SECRET: secret },
    });
    const report = JSON.parse(stdout) as LoadtestReport;
    assert.deepEqual(report.errors, []);
    assert.equal(report.tracks.length, 2);
    const env = { ...process.env };
    delete env.SWITCHBOARD_AUTH_SECRET;
    await assert.rejects(
      run('node', args, { timeout: 120_000, env }),
      (err: { code: number; stderr: string }) =>
        err.code === 1 &&
        err.stderr.startsWith(
          'switchboard: loadtest: nothing was measured (pub-0-0: server error token-required: this server requires an access token',
        ),
    );
  } finally {
    await guarded.close();
  }
});

test('--topology mcu: the subscriber receives the room’s mix (one audio, one video track), without capture times', async () => {
  const { stdout: json } = await run(
    'node',
    [
      CLI,
      'loadtest',
      '--url',
      server.url,
      '--topology',
      'mcu',
      '--rooms',
      '1',
      '--publishers',
      '2',
      '--subscribers',
      '1',
      '--duration',
      '3',
      '--json',
    ],
    { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(json) as LoadtestReport;
  assert.deepEqual(report.errors, []);
  assert.equal(report.config.topology, 'mcu');
  assert.deepEqual(report.tracks.map((t) => t.kind).sort(), ['audio', 'video'], 'the mix: one audio and one video track');
  for (const t of report.tracks) {
    assert.ok(t.packets > 20, `${t.kind}: ${t.packets} packets of the mix`);
    assert.equal(t.latencyP50Ms, null, 'the mix is re-encoded: no capture time');
  }
});

test('several --url: each room’s peers take the servers in turn', async () => {
  const other = await startSwitchboard({ port: 0, turnPort: 0, rtcPort: 0, host: '127.0.0.1', logLevel: 'silent' });
  try {
    const { stdout } = await run(
      'node',
      [
        CLI,
        'loadtest',
        '--url',
        server.url,
        '--url',
        other.url,
        '--rooms',
        '1',
        '--publishers',
        '2',
        '--subscribers',
        '2',
        '--duration',
        '2',
        '--room-prefix',
        'spread',
        '--json',
      ],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const report = JSON.parse(stdout) as LoadtestReport;
    assert.equal(report.url, `${new URL(server.url).href}, ${new URL(other.url).href}`);
    // Two servers that are not one cluster: pub-0-0 and sub-0-0 meet on the first, pub-0-1 and sub-0-1 on the second.
    const seen = (sub: string): string[] => [...new Set(report.tracks.filter((t) => t.subscriber === sub).map((t) => t.publisher))];
    assert.deepEqual(seen('sub-0-0'), ['pub-0-0']);
    assert.deepEqual(seen('sub-0-1'), ['pub-0-1']);
    assert.equal(report.totals.missingTracks, 4, 'each subscriber misses the publisher on the other server');
    assert.ok(report.serverCpu && report.serverCpu.source.includes(' + '), 'CPU summed over both servers');
  } finally {
    await other.close();
  }
});

test('refuses a server that is not on loopback, before any traffic', async () => {
  assert.equal(
    await usageError(['--url', 'http://198.18.0.1:8080', '--rooms', '1', '--publishers', '1', '--subscribers', '1', '--duration', '1']),
    'switchboard: loadtest: refusing 198.18.0.1:8080: it resolves to 198.18.0.1, not loopback (pass --allow-remote to load a remote server)',
  );
  assert.equal(
    await usageError(['--url', 'ws://[::ffff:c612:1]:9/ws', '--rooms', '1', '--publishers', '1', '--subscribers', '1', '--duration', '1']),
    'switchboard: loadtest: refusing [::ffff:c612:1]:9: it resolves to ::ffff:c612:1, not loopback (pass --allow-remote to load a remote server)',
  );
});

test('a server that is not there: the report names why, and the exit code says nothing was measured', async () => {
  // Port 9 on loopback: nothing listens there, so the connection is refused at once.
  await assert.rejects(
    run(
      'node',
      [
        CLI,
        'loadtest',
        '--url',
        'http://127.0.0.1:9',
        '--rooms',
        '1',
        '--publishers',
        '1',
        '--subscribers',
        '1',
        '--duration',
        '1',
        '--join-timeout',
        '3',
        '--json',
      ],
      { timeout: 60_000 },
    ),
    (err: { code: number; stderr: string; stdout: string }) => {
      assert.equal(err.code, 1);
      assert.equal(err.stderr.trim(), 'switchboard: loadtest: nothing was measured (pub-0-0: connect ECONNREFUSED 127.0.0.1:9)');
      const report = JSON.parse(err.stdout) as LoadtestReport;
      assert.equal(report.joinTime.publishers.failed, 1);
      assert.equal(report.joinTime.subscribers.failed, 1);
      return true;
    },
  );
});

test('argument errors are exact, caps included', async () => {
  const base = ['--url', 'http://127.0.0.1:9', '--rooms', '1', '--publishers', '1', '--subscribers', '1', '--duration', '5'];
  const withArg = (name: string, value: string): string[] => {
    const args = [...base];
    const i = args.indexOf(name);
    if (i >= 0) args[i + 1] = value;
    else args.push(name, value);
    return args;
  };
  const cases: [string[], string][] = [
    [withArg('--rooms', 'two'), '--rooms must be a whole number (got "two")'],
    [withArg('--rooms', '0'), '--rooms must be between 1 and 500 (got 0)'],
    [
      [...base.filter((a, i) => a !== '--publishers' && base[i - 1] !== '--publishers'), '--publishers=-1'],
      '--publishers must be a whole number (got "-1")',
    ],
    [withArg('--publishers', '1e3'), '--publishers must be a whole number (got "1e3")'],
    [withArg('--duration', '601'), '--duration must be between 1 and 600 (got 601)'],
    [withArg('--duration', '1.5'), '--duration must be a whole number (got "1.5")'],
    [
      [...withArg('--rooms', '10'), '--publishers', '100', '--subscribers', '101'],
      'at most 2000 peers in all (--rooms × (--publishers + --subscribers) = 2010)',
    ],
    [withArg('--video-bitrate', 'fast'), '--video-bitrate must be bits per second like 1500000, 1500k or 1.5M (got "fast")'],
    [withArg('--video-bitrate', '30M'), '--video-bitrate must be between 50000 and 20000000 bit/s (got 30000000)'],
    [withArg('--peer', 'werift'), '--peer must be ndc or wrtc (got "werift")'],
    [withArg('--url', 'ftp://127.0.0.1/'), '--url must be http(s):// or ws(s):// (got "ftp:")'],
    [base.slice(2), '--url is required'],
    [withArg('--topology', 'mesh'), '--topology must be sfu or mcu (got "mesh")'],
    [[...base, '--url', 'http://127.0.0.1:9/', '--url', 'tcp://x'], '--url must be http(s):// or ws(s):// (got "tcp:")'],
  ];
  for (const [args, message] of cases) assert.equal(await usageError(args), `switchboard: loadtest: ${message}`, args.join(' '));
});
