import { Registry } from 'prom-client'

/** One Prometheus registry per Conveyor instance (several run in one test process). */
export function createRegistry(): Registry {
  return new Registry()
}
