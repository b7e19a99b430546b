export { DataChannel, type DataChannelEvents, type DataChannelState } from './data-channel.js';
export {
  SctpAssociation,
  type CreateChannelOptions,
  type SctpAssociationEvents,
  type SctpAssociationOptions,
  type SctpAssociationState,
  type SctpStats,
} from './sctp-association.js';
export { encodeDcepOpen, parseDcep, type DcepMessage, type DcepOpen } from './dcep.js';
export { PPID_BINARY, PPID_BINARY_EMPTY, PPID_DCEP, PPID_STRING, PPID_STRING_EMPTY } from './ppid.js';
