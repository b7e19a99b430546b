/**
 * The WebRTC libraries of the load tool's peers, loaded only when a run asks for them: both are
 * devDependencies (native addons), so `switchboard serve` never needs them and a missing one is
 * a clear error instead of a crash at startup.
 */
import { InternalErrorCode, SwitchboardError } from '../../src/protocol/errors.js';

export type NodeDataChannel = typeof import('node-datachannel').default;

export async function loadNodeDataChannel(): Promise<NodeDataChannel> {
  try {
    return (await import('node-datachannel')).default;
  } catch (err) {
    throw new SwitchboardError(
      InternalErrorCode.Unavailable,
      `--peer ndc needs the node-datachannel package (a devDependency of switchboard; npm install node-datachannel): ${(err as Error).message}`,
    );
  }
}

/** Untyped here: its typings lean on the DOM lib; wrtc-publisher.ts declares the part it uses. */
export async function loadWrtc(): Promise<unknown> {
  try {
    return (await import('@roamhq/wrtc')).default;
  } catch (err) {
    throw new SwitchboardError(
      InternalErrorCode.Unavailable,
      `--peer wrtc needs the @roamhq/wrtc package (a devDependency of switchboard; npm install @roamhq/wrtc): ${(err as Error).message}`,
    );
  }
}
