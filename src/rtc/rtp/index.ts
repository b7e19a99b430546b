export * from './header.js';
export * from './extensions.js';
export * from './extension-values.js';
export * from './rtx.js';
export * from './vp8.js';
export * from './sequence.js';
export * from './vp9.js';
export * from './red.js';
