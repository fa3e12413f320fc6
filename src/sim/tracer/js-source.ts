import type { Address, Hex } from 'viem'

/** What the JS tracer needs to know about the op to find the validation phases. */
export interface TracerConfig {
  entryPoint: Address
  sender: Address
  paymaster?: Address
  /** Selectors of the EntryPoint's calls that open a phase. */
  selectors: { createSender: Hex; validateUserOp: Hex; validatePaymasterUserOp: Hex }
}

/** The config as both trace sources compare it: lower-case hex, no paymaster as ''. */
export function lowerCaseConfig(cfg: TracerConfig) {
  return {
    ep: cfg.entryPoint.toLowerCase(),
    sender: cfg.sender.toLowerCase(),
    paymaster: cfg.paymaster?.toLowerCase() ?? '',
    createSender: cfg.selectors.createSender.toLowerCase(),
    validateUserOp: cfg.selectors.validateUserOp.toLowerCase(),
    validatePaymasterUserOp: cfg.selectors.validatePaymasterUserOp.toLowerCase(),
  }
}

/**
 * Conveyor's validation tracer, in the geth-style JS tracer API (`step`, `fault`, `enter`, `exit`,
 * `result`) as anvil (revm-inspectors, boa) runs it. The op's addresses are baked into the source
 * (lower-case), so no tracerConfig plumbing is needed.
 *
 * Cost model, measured on anvil 1.7.1: every opcode pays ~30 µs of fixed step overhead in the node
 * whatever `step` does, so the body keeps to one `toNumber()` and an array lookup on the hot path
 * and reads stack, memory or state only for the few opcodes the rules look at. Nothing is recorded
 * outside a phase or while the EntryPoint's own code runs inside one (e.g. depositTo): rules apply
 * to the entities' frames, not the EntryPoint's.
 *
 * Output (see RawTrace in raw.ts): per phase the opcode counts by number (GAS counted only when
 * not immediately followed by a *CALL, the OP-012 misuse), storage per address (first read value,
 * writes, transient), calls, code accesses (EXTCODE* / *CALL targets with their code size), short
 * KECCAK256 inputs, out-of-gas; plus the code of every contract validation used, and the
 * top-level outcome.
 */
export function validationTracerSource(cfg: TracerConfig): string {
  const c = lowerCaseConfig(cfg)
  return `{
  cfg: ${JSON.stringify(c)},
  phases: [],
  cur: null,
  depth: 0,
  phaseDepth: -1,
  epDepth: 0,
  frames: [],
  lastGas: false,
  pendingEp: -1,
  touched: {},
  hot: null,
  names: { 0x3b: 'EXTCODESIZE', 0x3c: 'EXTCODECOPY', 0x3f: 'EXTCODEHASH', 0xf1: 'CALL', 0xf2: 'CALLCODE', 0xf4: 'DELEGATECALL', 0xfa: 'STATICCALL' },
  addr(v) {
    var s = v.toString(16);
    if (s.length > 40) s = s.slice(s.length - 40);
    while (s.length < 40) s = '0' + s;
    return '0x' + s;
  },
  word(v) {
    var s = v.toString(16);
    while (s.length < 64) s = '0' + s;
    return '0x' + s;
  },
  store(p, a) {
    var st = p.storage[a];
    if (st === undefined) { st = { r: {}, w: {}, t: {} }; p.storage[a] = st; }
    this.touched[a] = 1;
    return st;
  },
  code(p, a, op, db) {
    this.touched[a] = 1;
    var size = db.getCode(a).length;
    var prev = p.code[a];
    if (prev === undefined || size < prev.size) p.code[a] = { op: op, size: size };
    return size;
  },
  enter(f) {
    this.depth++;
    var to = toHex(f.getTo());
    if (this.cur === null) {
      if (toHex(f.getFrom()) !== this.cfg.ep) return;
      var sel = toHex(f.getInput().slice(0, 4));
      var phase = null;
      if (sel === this.cfg.createSender) phase = 'factory';
      else if (sel === this.cfg.validateUserOp && to === this.cfg.sender) phase = 'account';
      else if (sel === this.cfg.validatePaymasterUserOp && to === this.cfg.paymaster) phase = 'paymaster';
      if (phase === null) return;
      this.cur = { phase: phase, ops: {}, storage: {}, calls: [], code: {}, keccak: {}, nk: 0, oog: false };
      this.phases.push(this.cur);
      this.phaseDepth = this.depth;
      this.frames = [];
      this.epDepth = 0;
      this.lastGas = false;
      this.pendingEp = -1;
      return;
    }
    var isEp = to === this.cfg.ep;
    var idx = -1;
    if (this.epDepth === 0) {
      var v = f.getValue();
      idx = this.cur.calls.length;
      this.cur.calls.push({ type: f.getType(), from: toHex(f.getFrom()), to: to, method: toHex(f.getInput().slice(0, 4)), value: v === undefined ? '0' : String(v), gas: f.getGas(), err: null });
      this.touched[to] = 1;
    }
    if (isEp) this.epDepth++;
    this.frames.push({ ep: isEp, idx: idx });
  },
  exit(r) {
    var p = this.cur;
    if (p !== null) {
      var err = r.getError();
      if (err && /out of gas/i.test(err)) p.oog = true;
      if (this.depth === this.phaseDepth) {
        this.cur = null;
        this.phaseDepth = -1;
      } else {
        var fr = this.frames.pop();
        if (fr !== undefined) {
          if (fr.ep) this.epDepth--;
          if (fr.idx >= 0 && err) p.calls[fr.idx].err = String(err);
        }
      }
    }
    this.depth--;
  },
  fault(log, db) {
    var err = log.getError();
    if (this.cur !== null && err && /out of gas/i.test(err)) this.cur.oog = true;
  },
  step(log, db) {
    var p = this.cur;
    if (p === null || this.epDepth > 0) return;
    var op = log.op.toNumber();
    if (this.lastGas) {
      this.lastGas = false;
      if (op !== 0xf1 && op !== 0xf2 && op !== 0xf4 && op !== 0xfa) p.ops[0x5a] = (p.ops[0x5a] || 0) + 1;
    }
    if (this.pendingEp >= 0) {
      if (op !== 0x15) p.code[this.cfg.ep] = { op: 'EXTCODESIZE', size: this.pendingEp };
      this.pendingEp = -1;
    }
    if (op === 0x5a) { this.lastGas = true; return; }
    p.ops[op] = (p.ops[op] || 0) + 1;
    if (this.hot === null) {
      this.hot = [];
      for (var i = 0; i < 256; i++) this.hot.push(false);
      var h = [0x20, 0x3b, 0x3c, 0x3f, 0x54, 0x55, 0x5c, 0x5d, 0xf1, 0xf2, 0xf4, 0xfa];
      for (var j = 0; j < h.length; j++) this.hot[h[j]] = true;
    }
    if (!this.hot[op]) return;
    var a, st, slot;
    if (op === 0x54 || op === 0x55 || op === 0x5c || op === 0x5d) {
      a = toHex(log.contract.getAddress());
      st = this.store(p, a);
      slot = this.word(log.stack.peek(0));
      if (op === 0x54) {
        if (st.r[slot] === undefined && st.w[slot] === undefined) st.r[slot] = toHex(db.getState(a, slot));
      } else if (op === 0x55) st.w[slot] = 1;
      else st.t[slot] = op === 0x5d ? 'w' : (st.t[slot] || 'r');
    } else if (op === 0x20) {
      var len = Number(log.stack.peek(1));
      if (len >= 20 && len <= 128 && p.nk < 512) {
        var off = Number(log.stack.peek(0));
        var input = toHex(log.memory.slice(off, off + len));
        if (p.keccak[input] === undefined) { p.keccak[input] = 1; p.nk++; }
      }
    } else if (op === 0x3b || op === 0x3c || op === 0x3f) {
      a = this.addr(log.stack.peek(0));
      if (a === this.cfg.ep) {
        if (op === 0x3b) this.pendingEp = db.getCode(a).length;
        else p.code[a] = { op: this.names[op], size: db.getCode(a).length };
      } else this.code(p, a, this.names[op], db);
    } else {
      a = this.addr(log.stack.peek(1));
      if (a !== this.cfg.ep) this.code(p, a, this.names[op], db);
    }
  },
  result(ctx, db) {
    var out = [];
    for (var i = 0; i < this.phases.length; i++) {
      var p = this.phases[i];
      out.push({ phase: p.phase, ops: p.ops, storage: p.storage, calls: p.calls, code: p.code, keccak: Object.keys(p.keccak), oog: p.oog });
    }
    var code = {};
    for (var a in this.touched) {
      if (a === this.cfg.ep) continue;
      var c = db.getCode(a);
      if (c.length > 0) code[a] = toHex(c);
    }
    return { phases: out, code: code, output: toHex(ctx.output), error: ctx.error ? String(ctx.error) : null };
  }
}`
}
