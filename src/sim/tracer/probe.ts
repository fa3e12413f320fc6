import { type Address, numberToHex, type PublicClient } from 'viem'

export type TracerSupport = { ok: true } | { ok: false; reason: string }

/**
 * A JS tracer that exercises what Conveyor's validation tracer relies on (step with op, stack,
 * memory and contract, enter/exit frames, db.getCode/getState, toHex, the state override in the
 * tracer config) over a tiny call, and checks the answer. A node without JS tracers (or without
 * debug_traceCall) answers with an error or a wrong result.
 */
const PROBE_TRACER = `{
  n: 0, sawPush: false, stackOk: false, code: -1, state: '', mem: '',
  step(log, db) {
    this.n++;
    var op = log.op.toNumber();
    if (op === 0x60) this.sawPush = true;
    if (log.stack.length() > 0) this.stackOk = log.stack.peek(0).toString(16).length > 0;
    if (this.code < 0) {
      var a = toHex(log.contract.getAddress());
      this.code = db.getCode(a).length;
      this.state = toHex(db.getState(a, '0x0000000000000000000000000000000000000000000000000000000000000000'));
    }
  },
  enter(f) {}, exit(r) {}, fault(log, db) {},
  result(ctx, db) {
    return { n: this.n, sawPush: this.sawPush, stackOk: this.stackOk, code: this.code, out: toHex(ctx.output) };
  }
}`
/** Runtime code: PUSH1 0x2a PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN (returns 42). */
const PROBE_CODE = '0x602a60005260206000f3'
const PROBE_ADDRESS: Address = '0x00000000000000000000000000000000c0def00d'

export async function probeTracerSupport(client: PublicClient): Promise<TracerSupport> {
  try {
    const block = await client.getBlockNumber({ cacheTime: 0 })
    const r = (await client.request({
      method: 'debug_traceCall',
      params: [
        { to: PROBE_ADDRESS, data: '0x' },
        numberToHex(block),
        { tracer: PROBE_TRACER, stateOverrides: { [PROBE_ADDRESS]: { code: PROBE_CODE } } },
      ],
    } as never)) as { n?: number; sawPush?: boolean; stackOk?: boolean; code?: number; out?: string }
    const ok =
      r?.n === 6 && r.sawPush === true && r.stackOk === true && r.code === 10 && BigInt(r.out ?? '0x') === 42n
    return ok ? { ok: true } : { ok: false, reason: `unexpected JS tracer result ${JSON.stringify(r)}` }
  } catch (err) {
    return { ok: false, reason: nodeSaid(err) }
  }
}

/** What the node said, for a start-up message: viem keeps the node's own words in `details`. */
export function nodeSaid(err: unknown): string {
  const e = err as { details?: unknown; shortMessage?: unknown; message?: unknown } | undefined
  const text = [e?.details, e?.shortMessage, e?.message].find((x) => typeof x === 'string' && x.length > 0)
  return typeof text === 'string' ? (text.split('\n')[0] as string) : String(err)
}
