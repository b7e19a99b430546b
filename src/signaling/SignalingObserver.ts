/** What the signaling server reports for metrics; src/server implements it with prom-client. */
import type { ErrorCode } from '../protocol/index.js';

export interface SignalingObserver {
  messageIn(type: string): void;
  error(code: ErrorCode): void;
  relayed(type: string): void;
  callEnded(reason: string): void;
}

export const nullObserver: SignalingObserver = {
  messageIn: () => undefined,
  error: () => undefined,
  relayed: () => undefined,
  callEnded: () => undefined,
};
