function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

/** The known name closest to a mistyped one, if any is close enough to be a likely typo. */
export function closest(name: string, known: Iterable<string>): string | undefined {
  const wanted = name.toLowerCase().replaceAll('-', '_')
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(wanted.length / 4)) + 1
  for (const k of known) {
    const d = distance(wanted, k)
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  return best
}
