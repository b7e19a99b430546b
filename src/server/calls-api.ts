/**
 * REST half of the 1:1 call flow. The caller authenticates with the session token it got
 * in `welcome` (`Authorization: Bearer …`): a call always starts from a live session that
 * can receive the callee's answer.
 *
 *   POST   /api/calls       {to: identity} → 201 {callId, to, state: 'ringing'}
 *   GET    /api/calls/:id   → {callId, state, caller, callee}
 *   DELETE /api/calls/:id   → cancels (ringing, caller) or hangs up (active)
 *
 * POST is limited (CallManager): per caller and per callee, a few per 10 s (429
 * `rate-limited`); a room-scoped token reaches only identities in its room, and anyone else
 * gets the same 404 `callee-not-found` as an identity nobody uses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SwitchboardError, validateCreateCall, type CreateCallResponse, type ErrorCode, type RestError } from '../protocol/index.js';
import { callPeer } from '../signaling/CallManager.js';
import type { SignalingServer } from '../signaling/SignalingServer.js';
import type { Session } from '../signaling/Session.js';
import { guarded } from '../util/guarded.js';

const MAX_BODY_BYTES = 4096;

/** The HTTP status of each refusal this API answers; any other error is a fault (500). */
const STATUS: Partial<Record<ErrorCode, number>> = {
  'malformed-json': 400,
  'invalid-message': 400,
  unauthorized: 401,
  'callee-not-found': 404,
  'call-not-found': 404,
  busy: 409,
  'call-state-invalid': 409,
  'message-too-large': 413,
  'rate-limited': 429,
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: ErrorCode, message: string, field?: string): void {
  const body: RestError = { error: { code, message, ...(field ? { field } : {}) } };
  sendJson(res, status, body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    // A fault in these callbacks fails this request (the handler answers 500), nothing else.
    const fault = (err: unknown): void => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the fault guarded() caught, as it is
      reject(err);
      req.resume();
    };
    req.on(
      'data',
      guarded(
        'http.calls.body.data',
        (c: Buffer) => {
          size += c.length;
          // Past the limit the rest is discarded unread; the 413 goes out with `connection: close`.
          if (size <= MAX_BODY_BYTES) chunks.push(c);
        },
        fault,
      ),
    );
    req.on(
      'end',
      guarded(
        'http.calls.body.end',
        () => {
          if (size > MAX_BODY_BYTES) reject(new SwitchboardError('message-too-large', `body is larger than ${MAX_BODY_BYTES} bytes`));
          else resolve(Buffer.concat(chunks).toString('utf8'));
        },
        fault,
      ),
    );
    req.on(
      'error',
      guarded('http.calls.body.error', (err: Error) => reject(err)),
    );
  });
}

function authenticate(req: IncomingMessage, signaling: SignalingServer): Session {
  const m = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(req.headers.authorization ?? '');
  const session = m ? signaling.sessionByToken(m[1] as string) : undefined;
  if (!session) throw new SwitchboardError('unauthorized', 'send "Authorization: Bearer <sessionToken>" from your signaling welcome');
  return session;
}

/** Handles /api/calls routes; returns false when the path is not one of them. */
export async function handleCallsApi(
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  signaling: SignalingServer,
): Promise<boolean> {
  const m = /^\/api\/calls(?:\/([A-Za-z0-9_.:@-]{1,64}))?$/.exec(pathname);
  if (!m) return false;
  const callId = m[1];
  try {
    const session = authenticate(req, signaling);
    if (!callId && req.method === 'POST') {
      const text = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new SwitchboardError('malformed-json', 'body is not valid JSON');
      }
      const failure = validateCreateCall(body);
      if (failure) throw new SwitchboardError('invalid-message', `${failure.field}: ${failure.problem}`, failure.field);
      const to = (body as { to: string }).to;
      const call = signaling.calls.create(session, signaling.sessionByIdentity(to), to);
      const out: CreateCallResponse = { callId: call.id, to: callPeer(call.callee), state: 'ringing' };
      sendJson(res, 201, out);
      return true;
    }
    if (callId && req.method === 'GET') {
      const call = signaling.calls.find(session, callId);
      sendJson(res, 200, { callId: call.id, state: call.state, caller: callPeer(call.caller), callee: callPeer(call.callee) });
      return true;
    }
    if (callId && req.method === 'DELETE') {
      const call = signaling.calls.find(session, callId);
      if (call.state === 'ringing' && call.caller === session) signaling.calls.cancel(session, callId);
      else if (call.state === 'ringing') signaling.calls.reject(session, callId);
      else signaling.calls.hangup(session, callId);
      res.writeHead(204).end();
      return true;
    }
    res.setHeader('allow', callId ? 'GET, DELETE' : 'POST');
    sendError(res, 405, 'invalid-message', `method ${req.method} not allowed here`);
  } catch (err) {
    const status = err instanceof SwitchboardError ? STATUS[err.code as ErrorCode] : undefined;
    if (!(err instanceof SwitchboardError) || status === undefined) throw err;
    if (status === 413) res.setHeader('connection', 'close');
    sendError(res, status, err.code as ErrorCode, err.message, err.field);
  }
  return true;
}
