import { type Address, toFunctionSelector } from 'viem'
import { RpcCode } from '../../util/errors.js'
import type { PhaseTrace, RuleViolation } from '../tracer-seam.js'
import { entityName, type PhaseView, same, violation } from './context.js'
import { isPrecompileAddress, type RuleSettings } from './settings.js'

/** OP-011: opcodes that read the environment outside storage and code, plus CREATE/INVALID/SELFDESTRUCT. */
export const BANNED_OPCODES: ReadonlySet<string> = new Set([
  'ORIGIN',
  'GASPRICE',
  'BLOCKHASH',
  'COINBASE',
  'TIMESTAMP',
  'NUMBER',
  'PREVRANDAO',
  'GASLIMIT',
  'BASEFEE',
  'BLOBHASH',
  'BLOBBASEFEE',
  'CREATE',
  'INVALID',
  'SELFDESTRUCT',
])
/** OP-080: allowed only for a staked entity. */
export const STAKED_ONLY_OPCODES: ReadonlySet<string> = new Set(['BALANCE', 'SELFBALANCE'])

const DEPOSIT_TO = toFunctionSelector('depositTo(address)')
const CALL_TYPES = new Set(['CALL', 'CALLCODE', 'DELEGATECALL', 'STATICCALL'])

/** The opcode rules of ERC-7562 for one phase, in rule order. */
export function opcodeViolations(p: PhaseTrace, v: PhaseView, s: RuleSettings): RuleViolation[] {
  const out: RuleViolation[] = []
  const who = entityName(v)
  const opcodes = Object.keys(p.opcodes).sort()
  for (const op of opcodes) {
    if (BANNED_OPCODES.has(op))
      out.push(violation(RpcCode.BannedOpcode, 'OP-011', v, `${who} uses banned opcode ${op}`))
    else if (op.startsWith('UNKNOWN_'))
      out.push(violation(RpcCode.BannedOpcode, 'OP-013', v, `${who} uses unassigned opcode ${op.slice(8)}`))
  }
  // The tracer counts GAS only when the next opcode is not a *CALL.
  if ((p.opcodes.GAS ?? 0) > 0)
    out.push(
      violation(RpcCode.BannedOpcode, 'OP-012', v, `${who} uses opcode GAS other than right before a *CALL`),
    )
  // OP-020 is an opcode rule: ERC-7769 refuses it as -32502 (-32500 is for a FailedOp).
  if (p.outOfGas)
    out.push(violation(RpcCode.BannedOpcode, 'OP-020', v, `${who} ran a frame out of gas during validation`))
  out.push(...createViolations(p, v))
  out.push(...codeAccessViolations(p, v, s))
  out.push(...entryPointViolations(p, v))
  for (const c of p.calls) {
    if (c.value > 0n && CALL_TYPES.has(c.type) && !same(c.to, v.entryPoint))
      out.push(
        violation(
          RpcCode.BannedOpcode,
          'OP-061',
          v,
          `${who} sends value ${c.value} with ${c.type} to ${c.to}`,
        ),
      )
  }
  if (!v.staked)
    for (const op of opcodes)
      if (STAKED_ONLY_OPCODES.has(op))
        out.push(violation(RpcCode.BannedOpcode, 'OP-080', v, `unstaked ${who} uses opcode ${op}`))
  return out
}

/** OP-031/032: one CREATE2, in the factory phase, and it must create the sender. */
function createViolations(p: PhaseTrace, v: PhaseView): RuleViolation[] {
  const out: RuleViolation[] = []
  const creates = p.calls.filter((c) => c.type === 'CREATE2')
  const who = entityName(v)
  creates.forEach((c, i) => {
    if (v.phase !== 'factory')
      out.push(
        violation(RpcCode.BannedOpcode, 'OP-031', v, `${who} uses CREATE2 outside the deployment phase`),
      )
    else if (i > 0)
      out.push(violation(RpcCode.BannedOpcode, 'OP-031', v, `${who} uses CREATE2 more than once`))
    else if (!same(c.to, v.sender))
      out.push(
        violation(
          RpcCode.BannedOpcode,
          'OP-032',
          v,
          `${who} uses CREATE2 for ${c.to}, not the sender ${v.sender}`,
        ),
      )
  })
  return out
}

/** OP-041/042 (no code at a used address, except the sender) and OP-062 (precompiles). */
function codeAccessViolations(p: PhaseTrace, v: PhaseView, s: RuleSettings): RuleViolation[] {
  const out: RuleViolation[] = []
  const who = entityName(v)
  const used = new Map<string, string>()
  for (const [a, c] of Object.entries(p.codeAccess) as [Address, PhaseTrace['codeAccess'][Address]][])
    used.set(a.toLowerCase(), c.opcode)
  for (const c of p.calls)
    if (CALL_TYPES.has(c.type) && !used.has(c.to.toLowerCase())) used.set(c.to.toLowerCase(), c.type)
  for (const [a, opcode] of used) {
    if (same(a, v.entryPoint)) continue
    if (isPrecompileAddress(a)) {
      if (!s.allowedPrecompiles.includes(BigInt(a)))
        out.push(
          violation(
            RpcCode.BannedOpcode,
            'OP-062',
            v,
            `${who} uses precompile ${a} with ${opcode}, not an allowed one`,
          ),
        )
      continue
    }
    const access = Object.entries(p.codeAccess).find(([k]) => same(k, a))?.[1]
    if (!access || access.codeSize > 0) continue
    if (same(a, v.sender)) continue // OP-042: the sender, before the factory deploys it.
    out.push(
      violation(RpcCode.BannedOpcode, 'OP-041', v, `${who} uses ${access.opcode} on ${a}, which has no code`),
    )
  }
  return out
}

/** OP-051..054: what an entity may do with the EntryPoint. */
function entryPointViolations(p: PhaseTrace, v: PhaseView): RuleViolation[] {
  const out: RuleViolation[] = []
  const who = entityName(v)
  for (const [a, c] of Object.entries(p.codeAccess))
    if (same(a, v.entryPoint))
      out.push(
        violation(
          RpcCode.BannedOpcode,
          'OP-054',
          v,
          `${who} uses ${c.opcode} on the EntryPoint (only EXTCODESIZE ISZERO is allowed)`,
        ),
      )
  for (const c of p.calls) {
    if (!same(c.to, v.entryPoint)) continue
    const fromSender = same(c.from, v.sender)
    const fromFactory = same(c.from, v.factory)
    if (c.method.toLowerCase() === DEPOSIT_TO) {
      if (!fromSender && !fromFactory)
        out.push(
          violation(
            RpcCode.BannedOpcode,
            'OP-052',
            v,
            `${who} calls EntryPoint.depositTo from ${c.from}: only the sender or factory may`,
          ),
        )
    } else if (c.method === '0x') {
      if (!fromSender)
        out.push(
          violation(
            RpcCode.BannedOpcode,
            'OP-053',
            v,
            `${who} calls the EntryPoint's fallback from ${c.from}: only the sender may`,
          ),
        )
    } else {
      out.push(
        violation(
          RpcCode.BannedOpcode,
          'OP-054',
          v,
          `${who} calls EntryPoint method ${c.method}: only depositTo and the fallback are allowed`,
        ),
      )
    }
  }
  return out
}
