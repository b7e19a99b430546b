/**
 * The layering docs/ARCHITECTURE.md describes is the one the imports show: no module of src/
 * imports a layer above its own, and no import cycle exists (type-only imports included: a
 * cycle of types is still two modules that cannot be read apart). Imports are read with
 * TypeScript's preprocessor (static, type-only, re-exports and dynamic import()).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * What each part may import (besides itself). The media core (`sfu`) knows RTP and RTCP but
 * nothing of SDP, sessions, signaling or sockets; `session` turns SDP into calls on the core;
 * `mcu` builds on both; only `server` (and the `cli` on top) wires every part.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: [],
  util: ['protocol'],
  stun: ['protocol', 'util'],
  net: ['protocol', 'util'],
  'rtc/rtp': ['protocol', 'util'],
  'rtc/rtcp': ['protocol', 'util'],
  rtc: ['protocol', 'util', 'stun', 'net', 'rtc/rtp', 'rtc/rtcp'],
  sfu: ['protocol', 'util', 'rtc/rtp', 'rtc/rtcp'],
  session: ['protocol', 'util', 'rtc', 'rtc/rtp', 'rtc/rtcp', 'sfu'],
  mcu: ['protocol', 'util', 'rtc/rtp', 'rtc/rtcp', 'sfu', 'session'],
  signaling: ['protocol', 'util'],
  turn: ['protocol', 'util', 'stun', 'net'],
  cluster: ['protocol', 'util', 'signaling'],
  server: ['protocol', 'util', 'stun', 'net', 'rtc', 'rtc/rtp', 'rtc/rtcp', 'sfu', 'session', 'mcu', 'signaling', 'turn', 'cluster'],
  cli: ['protocol', 'util', 'stun', 'net', 'rtc', 'rtc/rtp', 'rtc/rtcp', 'sfu', 'session', 'mcu', 'signaling', 'turn', 'cluster', 'server'],
};

/** `src/rtc/rtp/x.ts` → 'rtc/rtp'; `src/rtc/sdp/x.ts` → 'rtc'; `src/sfu/bwe/x.ts` → 'sfu'. */
function partOf(file: string): string {
  const parts = relative(join(ROOT, 'src'), file).split(sep);
  if (parts[0] === 'rtc' && (parts[1] === 'rtp' || parts[1] === 'rtcp')) return `rtc/${parts[1]}`;
  return parts[0] as string;
}

/** Every src/ module a file imports, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name).replace(/\.js$/, '.ts'))
    .filter((p) => p.startsWith(join(ROOT, 'src') + sep));
}

const files = sourceFiles(join(ROOT, 'src'));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => relative(ROOT, f).split(sep).join('/');

test('every part imports only the layers below it', () => {
  const found: string[] = [];
  for (const [file, deps] of graph) {
    const from = partOf(file);
    const allowed = MAY_IMPORT[from];
    assert.ok(allowed, `${rel(file)}: part "${from}" is not in the layer table (add it to MAY_IMPORT and ARCHITECTURE.md)`);
    for (const dep of deps) {
      const to = partOf(dep);
      if (to !== from && !allowed.includes(to)) found.push(`${rel(file)} (${from}) imports ${rel(dep)} (${to})`);
    }
  }
  assert.deepEqual(found, [], `imports against the layering:\n${found.join('\n')}`);
});

test('the media core imports nothing of SDP, sessions, signaling or sockets', () => {
  const core = [...graph].filter(([f]) => partOf(f) === 'sfu');
  assert.ok(core.length > 20, 'the core was found');
  for (const [file, deps] of core) {
    for (const dep of deps)
      assert.doesNotMatch(rel(dep), /^src\/(rtc\/(sdp|ice|dtls|srtp|sctp)|rtc\/[A-Z]|session|signaling|server|turn|net)/, rel(file));
  }
});

test('no import cycles in src/', () => {
  // Tarjan's strongly connected components: any component of two or more modules is a cycle.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(rel(w));
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(' → ')).join('\n')}`);
});
