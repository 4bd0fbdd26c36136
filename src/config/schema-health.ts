// The health gate's options (spread into the schema's election group): what "this node's API server is
// healthy" means, and how many checks in a row change the verdict.
import type { OptionSpec } from './schema.js';

export const HEALTH_OPTIONS = {
  healthCheck: {
    flags: ['--healthCheck'],
    env: ['vip_healthcheck'],
    format: 'health-check',
    default: 'local',
    doc: 'What a node checks before and while it leads: "local" GETs https://127.0.0.1:<port>/readyz with the kubeconfig\'s CA and credentials; an https:// URL (same credentials), an http:// URL, tcp://host:port (a connect), or "off". Needs --leaderElection',
    group: 'election',
    placeholder: 'local|url|tcp://host:port|off',
  },
  healthCheckPeriod: {
    flags: ['--healthCheckPeriod'],
    env: ['vip_healthcheckperiod'],
    format: 'seconds',
    default: 1,
    doc: 'Seconds between health checks',
    group: 'election',
    placeholder: 'seconds',
  },
  healthCheckTimeout: {
    flags: ['--healthCheckTimeout'],
    env: ['vip_healthchecktimeout'],
    format: 'seconds',
    default: 1,
    doc: 'Seconds a health check may take before it counts as failed',
    group: 'election',
    placeholder: 'seconds',
  },
  healthCheckFailures: {
    flags: ['--healthCheckFailures'],
    env: ['vip_healthcheckfailures'],
    format: 'positive-int',
    default: 3,
    doc: 'Failed checks in a row after which the leader gives the VIP and the lease up, and a follower stops trying',
    group: 'election',
    placeholder: 'n',
  },
  healthCheckSuccesses: {
    flags: ['--healthCheckSuccesses'],
    env: ['vip_healthchecksuccesses'],
    format: 'positive-int',
    default: 3,
    doc: 'Passed checks in a row after a failure before the node may lead again',
    group: 'election',
    placeholder: 'n',
  },
} satisfies Record<string, OptionSpec>;
