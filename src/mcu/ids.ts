/** The owner of the tracks the MCU makes, as subscribers see it in `sfu-offer` track lists. */
export { MCU_MIX_PARTICIPANT_ID as MIXER_PARTICIPANT_ID } from '../protocol/index.js';
