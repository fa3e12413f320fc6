/** The bundle sender's pure state machine and the tracker's bookkeeping. */
export { DIAGRAM_EDGES, isAllowedMove } from './edges.js'
export { liftToFloor, maxFees, meetsFloor, raiseFees, raisePercentCeil } from './fees.js'
export * from './tracking.js'
export { start, transition } from './transition.js'
export * from './types.js'
