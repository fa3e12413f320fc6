export { type BundleCandidate, bundleStorageConflicts, type StorageConflict } from './bundle.js'
export { Erc7562RuleChecker } from './checker.js'
export { CORE_PRECOMPILES, defaultRuleSettings, RIP7212_PRECOMPILE, type RuleSettings } from './settings.js'
