import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RTCSctpTransport } from 'werift';

/**
 * werift's SCTP association class. werift's package "exports" map publishes only its
 * WebRTC entry points, so `werift/lib/sctp/...` cannot be imported by name under
 * NodeNext (ERR_PACKAGE_PATH_NOT_EXPORTED). The type is reachable through the public
 * `RTCSctpTransport.sctp` field; the class itself is loaded from the package's own
 * CommonJS build by file path, resolved from the package's exported main entry.
 * That path is an internal layout of werift 0.25.2 (pinned in package.json).
 */
export type WeriftSctp = RTCSctpTransport['sctp'];

/** The packet pipe werift's SCTP sends on and installs its receive handler into. */
export interface WeriftSctpPipe {
  onData?: ((buf: Buffer) => void) | undefined;
  send: (buf: Buffer) => Promise<void>;
  close: () => void;
}

interface WeriftSctpModule {
  SCTP: {
    client(transport: WeriftSctpPipe, port?: number): WeriftSctp;
    server(transport: WeriftSctpPipe, port?: number): WeriftSctp;
  };
}

const require = createRequire(import.meta.url);
const weriftMain = require.resolve('werift'); // …/werift/lib/webrtc/src/index.js
const sctpModule = require(join(dirname(weriftMain), '..', '..', 'sctp', 'src', 'index.js')) as WeriftSctpModule;

/** RFC 8841 §10.2 role mapping is the caller's: `sendsInit` makes the side that sends INIT. */
export function createWeriftSctp(pipe: WeriftSctpPipe, port: number, sendsInit: boolean): WeriftSctp {
  return sendsInit ? sctpModule.SCTP.client(pipe, port) : sctpModule.SCTP.server(pipe, port);
}
