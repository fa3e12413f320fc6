import { readFileSync } from 'node:fs'

/** Linux's clock tick for /proc times (USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_S = 100

/**
 * CPU seconds a process has used so far (user + system, itself only, not its children such as the
 * embedded anvil), read from /proc; undefined where /proc is not there.
 */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is parenthesised and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return (utime + stime) / TICKS_PER_S
  } catch {
    return undefined
  }
}
