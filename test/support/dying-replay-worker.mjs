// A replay worker that starts, says it is ready, and dies on the first replay it is given (exit 3):
// what a worker that crashes mid-replay looks like to the main thread.
import { parentPort } from 'node:worker_threads'

parentPort.postMessage({ ready: true })
parentPort.on('message', () => process.exit(3))
