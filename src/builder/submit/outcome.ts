/**
 * What a node or relay said about a submitted transaction, in the kinds the bundle sender's state
 * machine acts on. Every transaction sender maps its endpoint's errors onto these.
 */
export type SendErrorKind =
  | 'replacement_underpriced'
  | 'nonce_too_low'
  | 'underpriced'
  | 'already_known'
  | 'insufficient_funds'
  | 'intrinsic_gas_too_low'
  | 'condition_not_met'
  | 'unavailable'
  | 'rejected'
