/**
 * The MCU's default composition: picture size, frame rate and quality tiers. Defined here, with
 * no imports, so that the config schema (src/server/config) can take its `mcu` defaults from it
 * without loading any codec.
 */
export const DEFAULT_MIXER_OPTIONS = { width: 1280, height: 720, fps: 15, tiers: [300_000, 700_000, 1_500_000] } as const;
