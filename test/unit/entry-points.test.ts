/**
 * The class of bug "an exception from network input stops the process" cannot come back: every
 * place where the event loop calls our code with outside input on the stack must be wrapped in
 * `guarded` (src/util/guarded.ts). Found with the TypeScript checker, not by text: listeners
 * registered on Node sockets, servers and streams (net, dgram, tls, http, https, stream, ws),
 * callbacks given to their factories (createServer…), werift's events (`.subscribe`), and timers.
 * A listener that only settles a promise or destroys/closes/ends something cannot throw and
 * needs no guard.
 */
import assert from 'node:assert/strict';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import ts from 'typescript';
import { sourceFiles } from '../helpers/source-files.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Code that never runs inside the server process (the load tool lives in bench/, outside this scan). */
const OUTSIDE_SERVER = ['src/cli/'];
/** Modules whose emitters carry input from outside the process (ioredis: replies and pub/sub messages from Redis). */
const IO_MODULES =
  /[\\/](@types[\\/]node[\\/](net|dgram|tls|http|https|stream|child_process)\.d\.ts|ws[\\/]index\.d\.m?ts|werift[\\/]|ioredis[\\/])/;
const LISTEN_METHODS = new Set(['on', 'once', 'addListener', 'prependListener', 'subscribe', 'setTimeout']);
const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate']);
/** Factories whose function argument becomes a connection or request listener. */
const FACTORIES = new Set(['createServer', 'createSecureServer', 'createSocket', 'connect', 'createConnection']);
/** Calls that cannot throw on their own: a listener made of one of these alone is safe. */
const SETTLERS = new Set(['resolve', 'reject', 'destroy', 'close', 'end', 'r']);

function isGuardedCall(node: ts.Expression): boolean {
  return ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'guarded';
}

/** `fn` is guarded: a guarded(...) call, or a name bound to one. */
function isGuarded(node: ts.Expression, checker: ts.TypeChecker): boolean {
  if (isGuardedCall(node)) return true;
  if (ts.isIdentifier(node) || ts.isPropertyAccessExpression(node)) {
    const decl = checker.getSymbolAtLocation(node)?.valueDeclaration;
    if (decl && (ts.isVariableDeclaration(decl) || ts.isPropertyDeclaration(decl)) && decl.initializer)
      return isGuardedCall(decl.initializer);
    // A field assigned in the constructor: `this.fire = guarded(...)`, and only so.
    if (decl && ts.isPropertyDeclaration(decl) && ts.isClassLike(decl.parent)) {
      const values: ts.Expression[] = [];
      const collect = (n: ts.Node): void => {
        if (
          ts.isBinaryExpression(n) &&
          n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
          ts.isPropertyAccessExpression(n.left) &&
          n.left.expression.kind === ts.SyntaxKind.ThisKeyword &&
          n.left.name.text === decl.name.getText()
        )
          values.push(n.right);
        ts.forEachChild(n, collect);
      };
      collect(decl.parent);
      return values.length > 0 && values.every(isGuardedCall);
    }
  }
  return false;
}

/** A listener that only settles a promise or tears something down. */
function isSettler(node: ts.Expression): boolean {
  if (ts.isIdentifier(node)) return SETTLERS.has(node.text);
  if (!ts.isArrowFunction(node) && !ts.isFunctionExpression(node)) return false;
  let body: ts.Node = node.body;
  if (ts.isBlock(body)) {
    if (body.statements.length !== 1) return false;
    const only = body.statements[0]!;
    if (!ts.isExpressionStatement(only)) return false;
    body = only.expression;
  }
  if (!ts.isCallExpression(body) || body.arguments.some((a) => !ts.isIdentifier(a) && !ts.isLiteralExpression(a))) return false;
  const callee = body.expression;
  const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
  return SETTLERS.has(name);
}

function declaredIn(type: ts.Type | undefined, pattern: RegExp): boolean {
  if (!type) return false;
  const types = type.isUnion() ? type.types : [type];
  return types.some((t) => (t.getSymbol() ?? t.aliasSymbol)?.declarations?.some((d) => pattern.test(d.getSourceFile().fileName)) ?? false);
}

function isFunctionArg(node: ts.Expression): boolean {
  return (
    ts.isArrowFunction(node) ||
    ts.isFunctionExpression(node) ||
    ts.isIdentifier(node) ||
    ts.isPropertyAccessExpression(node) ||
    ts.isCallExpression(node)
  );
}

/** Every unguarded entry point in the server's sources, as "file:line: what". */
function unguardedEntryPoints(): string[] {
  const files = sourceFiles(join(ROOT, 'src')).filter(
    (f) => !OUTSIDE_SERVER.some((o) => relative(ROOT, f).split(sep).join('/').startsWith(o)),
  );
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const found: string[] = [];
  for (const sf of program.getSourceFiles()) {
    if (!files.includes(sf.fileName)) continue;
    const report = (node: ts.Node, what: string): void => {
      const { line } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
      found.push(`${relative(ROOT, sf.fileName)}:${line + 1}: ${what}`);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        if (ts.isIdentifier(callee) && TIMERS.has(callee.text)) {
          const cb = node.arguments[0];
          if (cb && !isGuarded(cb, checker) && !isSettler(cb)) report(node, `${callee.text} callback`);
        } else if (
          ts.isPropertyAccessExpression(callee) &&
          LISTEN_METHODS.has(callee.name.text) &&
          declaredIn(checker.getTypeAtLocation(callee.expression), IO_MODULES)
        ) {
          const cb = node.arguments[node.arguments.length - 1];
          if (cb && isFunctionArg(cb) && !isGuarded(cb, checker) && !isSettler(cb)) {
            const event = node.arguments[0] && ts.isStringLiteral(node.arguments[0]) ? ` '${node.arguments[0].text}'` : '';
            report(node, `${callee.name.text}${event} listener`);
          }
        } else if (
          (ts.isIdentifier(callee) && FACTORIES.has(callee.text)) ||
          (ts.isPropertyAccessExpression(callee) && FACTORIES.has(callee.name.text))
        ) {
          // Factories that take a listener: net/tls/http createServer, dgram createSocket.
          const decl = checker.getResolvedSignature(node)?.getDeclaration();
          if (decl && IO_MODULES.test(decl.getSourceFile().fileName)) {
            for (const arg of node.arguments) {
              if ((ts.isArrowFunction(arg) || ts.isFunctionExpression(arg)) && !isSettler(arg))
                report(arg, 'listener given to a socket factory');
            }
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

test('every socket, server and timer entry point in the server is guarded', { timeout: 120_000 }, () => {
  const found = unguardedEntryPoints();
  assert.deepEqual(found, [], `unguarded entry points (wrap them with guarded(), src/util/guarded.ts):\n${found.join('\n')}`);
});
