/**
 * When a private relay counts as down. Pure: the fallback sender feeds it outcomes and the clock.
 *
 * - `private`: sends go to the relay; `failures` counts its consecutive "unavailable" answers.
 *   K of them in a row trip the circuit.
 * - `fallback`: sends go to the public node until `until`; then the relay gets one trial send
 *   (`private` with K−1 failures), so a still-dead relay trips again at once and a live one resets.
 */
export type CircuitState = { mode: 'private'; failures: number } | { mode: 'fallback'; until: number }

export interface CircuitSettings {
  /** K: consecutive unavailable failures before falling back; 0 disables the fallback. */
  maxConsecutiveUnavailable: number
  /** How long to stay on the public path before trying the relay again. */
  recoveryMillis: number
}

export const CLOSED: CircuitState = { mode: 'private', failures: 0 }

/** Which path the next send takes, and the state after the clock moved. */
export function route(
  state: CircuitState,
  now: number,
  s: CircuitSettings,
): { path: 'private' | 'fallback'; state: CircuitState } {
  if (state.mode === 'private') return { path: 'private', state }
  if (now < state.until) return { path: 'fallback', state }
  return {
    path: 'private',
    state: { mode: 'private', failures: Math.max(s.maxConsecutiveUnavailable - 1, 0) },
  }
}

/** After a send through the relay: only "unavailable" counts; any answer proves the relay is up. */
export function afterPrivateSend(
  state: CircuitState,
  unavailable: boolean,
  now: number,
  s: CircuitSettings,
): CircuitState {
  if (!unavailable || s.maxConsecutiveUnavailable <= 0) return CLOSED
  const failures = state.mode === 'private' ? state.failures + 1 : 1
  if (failures >= s.maxConsecutiveUnavailable) return { mode: 'fallback', until: now + s.recoveryMillis }
  return { mode: 'private', failures }
}
