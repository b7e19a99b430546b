/**
 * What one MCU room's mixer has encoded and decoded since it was made: the work that costs
 * CPU. The mixer encodes only for participants whose media connection is up, so a room
 * nobody receives from keeps these at zero (tests assert that; /metrics sums them).
 */
export class McuCounters {
  /** libvpx encoders opened (one per composition tier, when it starts being encoded). */
  videoEncodersOpened = 0;
  /** Composite frames encoded, over every composition and tier. */
  videoFramesEncoded = 0;
  /** Participants' video frames decoded. */
  videoFramesDecoded = 0;
  /** Opus frames encoded, over every listener's mix. */
  audioFramesEncoded = 0;

  add(other: McuCounters): void {
    this.videoEncodersOpened += other.videoEncodersOpened;
    this.videoFramesEncoded += other.videoFramesEncoded;
    this.videoFramesDecoded += other.videoFramesDecoded;
    this.audioFramesEncoded += other.audioFramesEncoded;
  }
}
