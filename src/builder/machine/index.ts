/** The bundle sender's pure state machine (the bookkeeping it drives is in ../tracker/). */
export { DIAGRAM_EDGES, isAllowedMove } from './edges.js'
export { start, transition } from './transition.js'
export * from './types.js'
