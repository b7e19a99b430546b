/**
 * FFmpeg logs at info level to stderr by default (libvpx prints its version for every encoder
 * opened): the MCU keeps only FFmpeg's errors. Called by each codec wrapper; cheap and idempotent.
 */
import { Log } from 'node-av/lib';
import { AV_LOG_ERROR } from 'node-av/constants';

let quiet = false;

export function quietFfmpegLog(): void {
  if (quiet) return;
  quiet = true;
  Log.setLevel(AV_LOG_ERROR);
}
