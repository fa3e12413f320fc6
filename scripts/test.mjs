#!/usr/bin/env node
// Runs vitest with its JSON reporter beside the default one, then prints the plain
// `N passed, N failed` line that CI reads. Extra arguments go to vitest (file filters).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'

const out = '.test-results.json'
rmSync(out, { force: true })
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${out}`,
  ...process.argv.slice(2),
]
const run = spawnSync('npx', args, { stdio: 'inherit' })

let passed = 0
let failed = 0
if (existsSync(out)) {
  const report = JSON.parse(readFileSync(out, 'utf8'))
  passed = report.numPassedTests ?? 0
  failed = report.numFailedTests ?? 0
  // A file that fails outside its tests (it does not load, or a beforeAll throws) has no failed
  // test counted: count it as one failure so it cannot hide behind its skipped tests.
  for (const file of report.testResults ?? []) {
    const name = file.name?.replace(`${process.cwd()}/`, '') ?? '?'
    const tests = file.assertionResults ?? []
    if (file.status === 'failed' && !tests.some((t) => t.status === 'failed')) {
      failed += 1
      console.log(`FAILED: ${name}: ${firstLine(file.message)}`)
    }
    // One line per failed test, so the tail of a CI log says which test failed and why.
    for (const test of file.assertionResults ?? []) {
      if (test.status === 'failed') {
        console.log(`FAILED: ${name} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`)
      }
    }
  }
} else {
  failed = 1
}
console.log(`${passed} passed, ${failed} failed`)

function firstLine(text) {
  return String(text ?? '')
    .split('\n')[0]
    .slice(0, 300)
}
process.exit(run.status === 0 && failed === 0 ? 0 : 1)
