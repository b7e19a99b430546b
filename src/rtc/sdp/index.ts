/** JSEP session descriptions between the SFU and browsers (see each module for its RFCs). */
export type * from './types.js';
export { parseRemoteSdp, sdpParseCounters, type ParseResult } from './parse.js';
export { buildPublishAnswer, SERVER_MAX_MESSAGE_SIZE, SERVER_SCTP_PORT, type PublishAnswer } from './publish-answer.js';
export { buildSubscribeOffer, SUBSCRIBE_DATA_MID, type SubscribeOfferParams } from './subscribe-offer.js';
export { answerKeepsRed, checkSubscribeAnswer } from './check-subscribe-answer.js';
export { HEADER_EXTENSION_URIS, OPUS_FMTP, SERVER_CODECS, SERVER_HEADER_EXTENSIONS, type ServerCodec } from './server-codecs.js';
export { SDP_LIMITS } from './tokens.js';
