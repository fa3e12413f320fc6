// A worker thread does not inherit the main thread's TypeScript loader: register it, then run the
// replay worker (the same way bin/conveyor.mjs starts the process).
import { register } from 'tsx/esm/api'

register()
await import('./replay-worker.ts')
