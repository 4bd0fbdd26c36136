export {
  ConfigError,
  loadConfig,
  labelOf,
  type Config,
  type Purpose,
  type RawInput,
  type Settings,
  type Source,
  type VipMode,
} from './load.js';
export {
  OPTIONS,
  OPTION_KEYS,
  optionLabel,
  spec,
  METAL_API_URL,
  METAL_METADATA_URL,
  type OptionKey,
  type OptionSpec,
  type Group,
} from './schema.js';
export { parsePeer, type BgpPeer } from './formats.js';
