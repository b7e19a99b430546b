export * from './types.js';
export * from './header.js';
export * from './reports.js';
export * from './sdes-bye.js';
export * from './nack.js';
export * from './psfb.js';
export * from './twcc.js';
export * from './compound.js';
