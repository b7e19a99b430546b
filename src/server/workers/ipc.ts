/**
 * The envelope of every message between the main process and a worker process (Node's IPC
 * channel with `serialization: 'advanced'`, so Buffers and Maps cross as they are). Requests
 * carry an id and get exactly one response; events go one way. Both sides check the envelope
 * before use: a malformed one is dropped and counted, never thrown.
 */
import { SwitchboardError, type ErrorCode, type InternalErrorCode } from '../../protocol/errors.js';

/** Method name → its params and result: what one kind of worker answers. */
export type WorkerMethods<M> = { [K in keyof M]: { params: unknown; result: unknown } };

export interface RequestEnvelope {
  kind: 'request';
  id: number;
  method: string;
  params: unknown;
}

export interface ResponseEnvelope {
  kind: 'response';
  id: number;
  ok: boolean;
  result?: unknown;
  /** When !ok: the SwitchboardError's code and message, so a client-facing code survives the hop. */
  error?: { code: string; message: string; field?: string };
}

export interface EventEnvelope {
  kind: 'event';
  name: string;
  data: unknown;
}

/** Parent → worker: finish (close what you hold) and exit. */
export interface CloseEnvelope {
  kind: 'close';
}

export type Envelope = RequestEnvelope | ResponseEnvelope | EventEnvelope | CloseEnvelope;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The envelope in `msg`, or undefined when it is not one. */
export function parseEnvelope(msg: unknown): Envelope | undefined {
  if (!isRecord(msg)) return undefined;
  switch (msg['kind']) {
    case 'request':
      return Number.isSafeInteger(msg['id']) && typeof msg['method'] === 'string' ? (msg as unknown as RequestEnvelope) : undefined;
    case 'response':
      return Number.isSafeInteger(msg['id']) && typeof msg['ok'] === 'boolean' ? (msg as unknown as ResponseEnvelope) : undefined;
    case 'event':
      return typeof msg['name'] === 'string' ? (msg as unknown as EventEnvelope) : undefined;
    case 'close':
      return { kind: 'close' };
    default:
      return undefined;
  }
}

/** A thrown value as a response error: a SwitchboardError keeps its code, anything else is internal. */
export function errorOf(err: unknown): NonNullable<ResponseEnvelope['error']> {
  if (err instanceof SwitchboardError)
    return { code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) };
  return { code: 'internal-error', message: err instanceof Error ? err.message : String(err) };
}

/** A response error as the SwitchboardError the requester throws. */
export function errorFrom(error: ResponseEnvelope['error']): SwitchboardError {
  const code = (error?.code ?? 'internal-error') as ErrorCode | InternalErrorCode;
  return new SwitchboardError(code, error?.message ?? 'worker request failed', error?.field);
}
