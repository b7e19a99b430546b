/**
 * scripts/build-if-stale.mjs (run by `npm start` and the test scripts): a tree in a temp folder
 * whose `npm run build` is a small script that counts its runs, writes the outputs `npm start`
 * needs, and can be told to fail or to save a source file while it builds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRIPT = join(ROOT, 'scripts/build-if-stale.mjs');

/** The fake build: counts runs in builds.txt; fails if fail-build exists; saves src/late.ts mid-build if touch-late exists. */
const FAKE_BUILD = `
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
appendFileSync('builds.txt', 'x');
if (existsSync('touch-late')) writeFileSync('src/late.ts', 'export const late = 1;\\n');
if (existsSync('fail-build')) process.exit(3);
mkdirSync('dist/src/cli', { recursive: true });
mkdirSync('dist/web', { recursive: true });
writeFileSync('dist/src/cli/main.js', '');
writeFileSync('dist/web/index.html', '');
`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function makeTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'build-if-stale-'));
  dirs.push(root);
  for (const d of ['src', 'client', 'web', 'test', 'bench']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'web/index.html'), '<!doctype html>\n');
  writeFileSync(join(root, 'web/old.ts'), 'export {};\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(join(root, 'tsconfig.web.json'), '{}\n');
  writeFileSync(join(root, 'package-lock.json'), '{}\n');
  writeFileSync(join(root, 'build.mjs'), FAKE_BUILD);
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'fake', private: true, type: 'module', scripts: { build: 'node build.mjs' } }),
  );
  // Every input a minute old, as in a checkout that has not been touched since.
  const old = new Date(Date.now() - 60_000);
  for (const p of [
    'src/a.ts',
    'web/index.html',
    'web/old.ts',
    'src',
    'web',
    'client',
    'test',
    'bench',
    'tsconfig.json',
    'tsconfig.web.json',
    'package.json',
    'package-lock.json',
  ]) {
    utimesSync(join(root, p), old, old);
  }
  return root;
}

function run(root: string): { status: number | null; stderr: string; builds: number } {
  const r = spawnSync('node', [SCRIPT], { cwd: root, encoding: 'utf8' });
  const builds = existsSync(join(root, 'builds.txt')) ? readFileSync(join(root, 'builds.txt'), 'utf8').length : 0;
  return { status: r.status, stderr: r.stderr, builds };
}

/** Now: after the last build began (npm alone takes longer than any clock's resolution), and not in the future. */
function later(): Date {
  return new Date();
}

test('builds a tree never built, then not again until an input changes', () => {
  const root = makeTree();
  let r = run(root);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.builds, 1);
  assert.match(r.stderr, /building: no dist\/\.build-stamp/);

  r = run(root);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.builds, 1, 'a current tree is not rebuilt');
  assert.match(r.stderr, /dist\/ is current/);

  // A source saved after the build.
  utimesSync(join(root, 'src/a.ts'), later(), later());
  r = run(root);
  assert.equal(r.builds, 2);
  assert.match(r.stderr, /building: src\/a\.ts changed since the last build/);
  assert.equal(run(root).builds, 2);

  // The root files count: a dependency changed.
  utimesSync(join(root, 'package-lock.json'), later(), later());
  assert.equal(run(root).builds, 3);
  assert.equal(run(root).builds, 3);
});

test('a deleted source and a missing output each make it build', () => {
  const root = makeTree();
  assert.equal(run(root).builds, 1);
  // Only the folder's own mtime shows a deletion.
  unlinkSync(join(root, 'web/old.ts'));
  const r = run(root);
  assert.equal(r.builds, 2);
  assert.match(r.stderr, /building: web changed since the last build/);

  unlinkSync(join(root, 'dist/web/index.html'));
  assert.match(run(root).stderr, /building: dist\/web\/index\.html is missing/);
  assert.equal(run(root).builds, 3);
});

test('a failed build is not taken for a current one', () => {
  const root = makeTree();
  assert.equal(run(root).builds, 1);
  writeFileSync(join(root, 'fail-build'), '');
  utimesSync(join(root, 'src/a.ts'), later(), later());
  let r = run(root);
  assert.notEqual(r.status, 0, 'the build failure is passed on');
  assert.equal(r.builds, 2);
  assert.equal(existsSync(join(root, 'dist/.build-stamp')), false);

  unlinkSync(join(root, 'fail-build'));
  r = run(root);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.builds, 3, 'the next run builds again');
  assert.equal(run(root).builds, 3);
});

test('a source saved while the build runs makes the next run build again', () => {
  const root = makeTree();
  writeFileSync(join(root, 'touch-late'), '');
  assert.equal(run(root).builds, 1);
  unlinkSync(join(root, 'touch-late'));
  const r = run(root);
  assert.equal(r.builds, 2);
  assert.match(r.stderr, /changed since the last build/);
  assert.equal(run(root).builds, 2);
});

test('the inputs it watches cover what tsconfig.json and tsconfig.web.json compile', async () => {
  const { BUILD_INPUTS } = (await import(pathToFileURL(SCRIPT).href)) as { BUILD_INPUTS: string[] };
  for (const config of ['tsconfig.json', 'tsconfig.web.json']) {
    assert.ok(BUILD_INPUTS.includes(config), config);
    const { include } = JSON.parse(readFileSync(join(ROOT, config), 'utf8')) as { include: string[] };
    for (const pattern of include) {
      const top = pattern.split('/')[0]!;
      assert.ok(BUILD_INPUTS.includes(top), `${config} compiles ${pattern}, outside the watched inputs`);
    }
  }
  // The web app's Vite config lives under web/.
  assert.ok(existsSync(join(ROOT, 'web/vite.config.ts')));
});
