/**
 * The edges of the seed's state diagram, and nothing else. A transition either stays in its state
 * (waiting is not an edge) or follows one of these.
 */
import type { StateTag } from './types.js'

export const DIAGRAM_EDGES: ReadonlyArray<readonly [StateTag, StateTag, string]> = [
  ['Building', 'Building', 'no operations'],
  ['Building', 'Pending', 'bundle submitted'],
  ['Pending', 'Building', 'bundle mined/dropped/abandoned'],
  ['Building', 'Cancelling', 'cancel triggered'],
  ['Cancelling', 'CancelPending', 'hard cancellation submitted'],
  ['Cancelling', 'Building', 'soft cancellation completed'],
  ['CancelPending', 'Cancelling', 'cancellation dropped/abandoned'],
  ['CancelPending', 'Building', 'cancellation mined/aborted'],
]

export function isAllowedMove(from: StateTag, to: StateTag): boolean {
  return from === to || DIAGRAM_EDGES.some(([a, b]) => a === from && b === to)
}
