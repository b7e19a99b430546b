export * from './constants.js';
export * from './message.js';
export * from './address.js';
export * from './integrity.js';
export * from './credentials.js';
export * from './builder.js';
export * from './channel-data.js';
export * from './demux.js';
export { crc32 } from './crc32.js';
