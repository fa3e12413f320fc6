// Conveyor's status page: renders /status.json snapshots pushed over /events (server-sent events).
// Every value is written with textContent, never as HTML.

const STATES = ['Building', 'Pending', 'Cancelling', 'CancelPending']
const GWEI = 1_000_000_000n

const $ = (id) => document.getElementById(id)

function el(tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null) continue
    if (k === 'class') node.className = v
    else node.setAttribute(k, v)
  }
  for (const c of children) if (c !== undefined && c !== null) node.append(c)
  return node
}

function short(hex) {
  return typeof hex === 'string' && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-6)}` : (hex ?? '–')
}

function gwei(wei) {
  if (wei === undefined || wei === null) return '–'
  const v = BigInt(wei)
  const whole = v / GWEI
  const frac = ((v % GWEI) * 1000n) / GWEI
  return `${whole}.${String(frac).padStart(3, '0')} gwei`
}

function eth(wei) {
  if (wei === undefined || wei === null) return '–'
  const v = BigInt(wei)
  const unit = 10n ** 18n
  const frac = ((v % unit) * 10000n) / unit
  return `${v / unit}.${String(frac).padStart(4, '0')} ETH`
}

function seconds(ms) {
  if (ms === undefined || ms === null) return '–'
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

function outcomeText(o) {
  if (!o) return '–'
  return o.detail ? `${o.kind} (${o.detail})` : o.kind
}

function rows(pairs) {
  const dl = el('dl', { class: 'rows' })
  for (const [k, v, cls] of pairs) dl.append(el('dt', {}, k), el('dd', { class: cls }, v))
  return dl
}

function senderCard(s) {
  const diagram = el('div', { class: 'diagram', 'aria-label': 'state' })
  for (const st of STATES) {
    diagram.append(el('span', { class: st === s.state ? 'state current' : 'state', 'data-state': st }, st))
  }
  const pairs = [
    ['Signer', s.signer ?? '(no lease yet)', 'mono'],
    ['Nonce', s.nonce],
  ]
  if (s.pending) {
    const p = s.pending
    pairs.push(
      [p.kind === 'cancel' ? 'Cancellation' : 'Pending tx', p.hash, 'mono'],
      ['Fees', `${gwei(p.maxFeePerGas)} max · ${gwei(p.maxPriorityFeePerGas)} tip`],
      ['Blocks waited', `${p.blocksWaited} of ${p.maxBlocksToWaitForMine}`],
      ['Attempts', String(p.attempts)],
    )
  }
  if (s.underpricedSince !== undefined) {
    pairs.push(['Underpriced', `since block ${s.underpricedSince}`, 'warn'])
  }
  if (s.phase && s.phase !== 'idle') pairs.push(['Doing', s.phase])
  pairs.push(
    ['Last bundle', outcomeText(s.lastOutcome)],
    ['Last round', outcomeText(s.outcome)],
    ['Mode', s.mode],
  )
  const title = el(
    'h3',
    {},
    el('span', {}, `Sender ${s.index}`),
    el('span', { class: 'sender-state' }, s.state),
  )
  return el(
    'article',
    { class: 'card sender', 'data-sender': String(s.index), 'data-state': s.state },
    title,
    diagram,
    rows(pairs),
  )
}

function fill(tbody, items, row) {
  tbody.replaceChildren(...items.map(row))
}

function td(text, cls) {
  return el('td', { class: cls }, text)
}

function render(snap) {
  $('version').textContent = `v${snap.version}`
  $('chain').textContent = String(snap.chainId)
  $('head-number').textContent = snap.head ? snap.head.number : '–'
  $('head-age').textContent = snap.head ? `${snap.head.ageSeconds} s` : '–'
  $('fee-base').textContent = snap.fees ? gwei(snap.fees.baseFee) : '–'
  $('fee-op').textContent = snap.fees
    ? `${gwei(snap.fees.opMinPriorityFee)} / ${gwei(snap.fees.opMinMaxFee)}`
    : '–'
  $('relay').textContent = snap.relay
    ? `${snap.relay.name}: ${snap.relay.path} (${snap.relay.switches.toFallback} fallbacks)`
    : 'direct to node'

  // A `conveyor rpc` process admits ops and bundles none.
  $('senders').replaceChildren(
    ...(snap.senders.length > 0
      ? snap.senders.map(senderCard)
      : [el('p', {}, 'No bundle senders in this process: it admits ops only (conveyor rpc).')]),
  )

  fill($('pool').tBodies[0], snap.pool, (p) =>
    el(
      'tr',
      {},
      td(`${p.version ?? ''} ${short(p.entryPoint)}`, 'mono'),
      td(String(p.ops)),
      td(p.best ? gwei(p.best.maxPriorityFeePerGas) : '–'),
      td(p.best ? gwei(p.best.maxFeePerGas) : '–'),
      td(String(p.throttled)),
      td(String(p.banned)),
    ),
  )

  fill($('bundles').tBodies[0], snap.bundles, (b) => {
    const kind = b.outcome ? b.outcome.kind : 'pending'
    const cls = kind === 'mined' ? 'outcome-mined' : kind === 'pending' ? 'outcome-pending' : 'outcome-other'
    return el(
      'tr',
      { 'data-outcome': kind },
      td(String(b.sender)),
      td(b.nonce),
      td(short(b.txHash), 'mono'),
      td(String(b.ops)),
      td(b.outcome?.gasUsed ?? '–'),
      td(b.outcome ? outcomeText(b.outcome) : `pending (${b.attempts} sent)`, cls),
      td(seconds(b.timeToMineMs)),
    )
  })
  $('no-bundles').hidden = snap.bundles.length > 0

  fill($('signers').tBodies[0], snap.senders, (s) =>
    el(
      'tr',
      {},
      td(String(s.index)),
      td(s.signer ?? '–', 'mono'),
      td(eth(s.balance)),
      td(s.keyId ? `held here by sender ${s.index} (${s.keyId})` : 'not held'),
    ),
  )
  document.body.dataset.updated = String(snap.at)
}

function setLink(state, text) {
  const link = $('link')
  link.dataset.state = state
  link.textContent = text
}

function connect() {
  const source = new EventSource('events')
  source.onmessage = (ev) => {
    setLink('live', `live, updated ${new Date().toLocaleTimeString()}`)
    render(JSON.parse(ev.data))
  }
  // EventSource reconnects by itself; say so meanwhile.
  source.onerror = () => setLink('lost', 'connection lost, retrying…')
}

connect()
