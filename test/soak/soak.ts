/**
 * The soak: `node dist/test/soak/soak.js [--minutes N] [--rooms sfu=2,mcu=1,mesh=2] [--room-size 3]
 * [--hold-seconds 5] [--sample-seconds 15] [--resume-grace-ms 3000] [--json]`.
 * Runs `switchboard serve` as a child on loopback, churns rooms of every topology, 1:1 calls
 * and TURN allocations with headless peers for the given time, and checks that the server's
 * memory, descriptors, handles and live objects come back, with no unexpected warnings.
 * Exits 0 when every criterion holds, 1 otherwise (the table says which).
 */
import { parseArgs } from 'node:util';
import { formatSoakReport } from './report.js';
import { DEFAULT_SOAK, runSoak, type SoakOptions } from './run-soak.js';

const USAGE =
  'usage: soak [--minutes N] [--rooms sfu=2,mcu=1,mesh=2] [--room-size 3] [--hold-seconds 5] [--sample-seconds 15] [--resume-grace-ms 3000] [--json]';

function fail(message: string): never {
  process.stderr.write(`soak: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function number(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number ${min}-${max} (got "${value}")`);
  return n;
}

function parseRooms(spec: string | undefined): Pick<SoakOptions, 'sfuRooms' | 'mcuRooms' | 'meshRooms'> {
  const out = { sfuRooms: DEFAULT_SOAK.sfuRooms, mcuRooms: DEFAULT_SOAK.mcuRooms, meshRooms: DEFAULT_SOAK.meshRooms };
  if (spec === undefined) return out;
  for (const part of spec.split(',')) {
    const m = /^(sfu|mcu|mesh)=(\d{1,2})$/.exec(part.trim());
    if (!m) fail(`--rooms: "${part}" is not sfu=N, mcu=N or mesh=N`);
    out[`${m[1] as 'sfu' | 'mcu' | 'mesh'}Rooms`] = Number(m[2]);
  }
  return out;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        minutes: { type: 'string' },
        rooms: { type: 'string' },
        'room-size': { type: 'string' },
        'hold-seconds': { type: 'string' },
        'sample-seconds': { type: 'string' },
        'resume-grace-ms': { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();

const options: SoakOptions = {
  ...DEFAULT_SOAK,
  minutes: number(values.minutes, DEFAULT_SOAK.minutes, 'minutes', 0.1, 24 * 60),
  ...parseRooms(values.rooms),
  roomSize: number(values['room-size'], DEFAULT_SOAK.roomSize, 'room-size', 2, 8),
  holdMs: number(values['hold-seconds'], DEFAULT_SOAK.holdMs / 1000, 'hold-seconds', 0, 600) * 1000,
  sampleEverySeconds: number(values['sample-seconds'], DEFAULT_SOAK.sampleEverySeconds, 'sample-seconds', 1, 3600),
  resumeGraceMs: number(values['resume-grace-ms'], DEFAULT_SOAK.resumeGraceMs, 'resume-grace-ms', 0, 60_000),
  log: (line) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
};

const result = await runSoak(options);
const report = (values.json ? JSON.stringify(result, null, 2) : formatSoakReport(result)) + '\n';
// Out before leaving; then exit without node-datachannel's cleanup(): after hundreds of
// connections it crashed the process now and then (SIGSEGV/SIGBUS) and turned a verdict into a
// signal. Every peer is closed by now; exit() does not wait for the addon's threads.
process.stdout.write(report, () => process.exit(result.passed ? 0 : 1));
