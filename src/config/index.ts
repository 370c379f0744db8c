/** The configuration module's public surface: import from here, not from the files behind it. */

export { checkConfig, describeConfig, renderReport, type CheckResult } from './check.js';
export { CONFIG_DEFAULTS, DEFAULT_CONFIG_FILE } from './defaults.js';
export { describeSchema, type ConfigKeyDoc } from './describe.js';
export { inspectConfig, inspectConfigText, loadConfig, loadConfigText, type ConfigReport, type LoadOptions } from './load.js';
export { CONFIG_SCHEMA_URL, configSchema } from './schema.js';
export type * from './types.js';
export { formatDuration, formatSize, parseDuration, parseSize } from './units.js';
