import type { Address } from 'viem'
import { invalidParams } from '../util/errors.js'
import { addressSchema, parseParam } from './params.js'

/** Parses an entry point parameter and checks it is one this bundler serves (else -32602). */
export function entryPointParser(entryPoints: Address[]): (value: unknown, index: number) => Address {
  const served = new Map(entryPoints.map((a) => [a.toLowerCase(), a]))
  return (value, index) => {
    const address = parseParam(addressSchema, value, index)
    const ep = served.get(address.toLowerCase())
    if (!ep)
      throw invalidParams(`params[${index}]: unsupported entry point ${address}`, {
        supportedEntryPoints: [...served.values()],
      })
    return ep
  }
}
