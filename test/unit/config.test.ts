import { ConfigError, loadConfig, type RawInput } from '../../src/config/index.js';

const base = {
  vip: { value: '198.51.100.10', name: '--vip' },
  interface: { value: 'eth0', name: '--interface' },
};

function load(
  flags: RawInput['flags'],
  env: NodeJS.ProcessEnv = {},
  purpose: 'start' | 'manifest-pod' = 'start',
) {
  return loadConfig({ flags, env }, purpose);
}

describe('precedence: flag > env > default', () => {
  it('uses the default when neither flag nor env is set', () => {
    const c = load(base);
    expect(c.leaseDuration).toBe(5);
    expect(c.renewDeadline).toBe(3);
    expect(c.retryPeriod).toBe(1);
    expect(c.leaseName).toBe('plndr-cp-lock');
    expect(c.namespace).toBe('kube-system');
    expect(c.sources.leaseDuration).toEqual({ kind: 'default' });
  });

  it('env beats default and is coerced by format', () => {
    const c = load(base, { vip_leaseduration: '10', vip_renewdeadline: '6', vip_leaderelection: 'true' });
    expect(c.leaseDuration).toBe(10);
    expect(c.renewDeadline).toBe(6);
    expect(c.leaderElection).toBe(true);
    expect(c.sources.leaseDuration).toEqual({ kind: 'env', name: 'vip_leaseduration' });
  });

  it('flag beats env', () => {
    const c = load(
      { ...base, leaseDuration: { value: '7', name: '--leaseDuration' } },
      { vip_leaseduration: '10' },
    );
    expect(c.leaseDuration).toBe(7);
    expect(c.sources.leaseDuration).toEqual({ kind: 'flag', name: '--leaseDuration' });
  });

  it('accepts kube-vip alias env names (address, vip_subnet)', () => {
    const c = load({ interface: base.interface }, { address: '2001:db8::10', vip_subnet: '64' });
    expect(c.vip).toBe('2001:db8::10');
    expect(c.prefixLength).toBe(64);
  });

  it('takes the host prefix length by address family', () => {
    expect(load(base).prefixLength).toBe(32);
    expect(load({ ...base, vip: { value: '2001:db8::1', name: '--vip' } }).prefixLength).toBe(128);
  });

  it('accepts the reference page lease name and fractional renew/retry periods', () => {
    const c = load(base, {
      vip_leasename: 'plunder-lock',
      vip_leaseduration: '1',
      vip_renewdeadline: '0.5',
      vip_retryperiod: '0.2',
    });
    expect(c.leaseName).toBe('plunder-lock');
    expect(c.renewDeadline).toBe(0.5);
    expect(c.retryPeriod).toBe(0.2);
  });

  it('maps kube-vip numeric log levels', () => {
    expect(load(base, { vip_loglevel: '5' }).logLevel).toBe('debug');
    expect(load(base, { vip_loglevel: 'WARN' }).logLevel).toBe('warn');
  });
});

describe('modes', () => {
  it('ARP is the default mode', () => {
    const c = load(base);
    expect(c.mode).toBe('arp');
    expect(c.arp).toBe(true);
  });

  it('--arp=false on an interface only adds the address', () => {
    expect(load({ ...base, arp: { value: 'false', name: '--arp' } }).mode).toBe('address-only');
  });

  it('packet mode binds to lo and turns ARP off', () => {
    const c = load(
      { vip: base.vip, packet: { value: true, name: '--packet' } },
      { vip_packetproject: 'vipTest', PACKET_AUTH_TOKEN: 'tok' },
    );
    expect(c.mode).toBe('packet-eip');
    expect(c.interface).toBe('lo');
    expect(c.arp).toBe(false);
  });

  it('the keepalive interval follows the hold time unless it is set', () => {
    const bgp = { vip: base.vip, bgp: { value: true, name: '--bgp' } };
    const env = { bgp_peeraddress: '198.51.100.1' };
    expect(load({ ...bgp, holdTime: { value: '9', name: '--holdTime' } }, env).keepaliveInterval).toBe(3);
    expect(load({ ...bgp, holdTime: { value: '4', name: '--holdTime' } }, env).keepaliveInterval).toBe(1);
    expect(load({ ...bgp, holdTime: { value: '0', name: '--holdTime' } }, env).keepaliveInterval).toBe(0);
    const both = {
      ...bgp,
      holdTime: { value: '9', name: '--holdTime' },
      keepaliveInterval: { value: '2', name: '--keepaliveInterval' },
    };
    expect(load(both, env).keepaliveInterval).toBe(2);
  });

  it('bgp mode collects --peerAddress and --bgppeers', () => {
    const c = load(
      { vip: base.vip, bgp: { value: true, name: '--bgp' } },
      {
        bgp_peeraddress: '198.51.100.1',
        bgp_peeras: '64512',
        bgp_peers: '198.51.100.3:64512:pw:true,203.0.113.1:64513',
      },
    );
    expect(c.mode).toBe('bgp');
    expect(c.interface).toBe('lo');
    expect([c.holdTime, c.keepaliveInterval]).toEqual([30, 10]);
    expect(c.bgpPeers).toEqual([
      { address: '198.51.100.1', as: 64512, password: '', multihop: false },
      { address: '198.51.100.3', as: 64512, password: 'pw', multihop: true },
      { address: '203.0.113.1', as: 64513, password: '', multihop: false },
    ]);
  });

  it('bgp with packet needs no peers (they come from the Metal API)', () => {
    const c = load(
      { vip: base.vip, bgp: { value: true, name: '--bgp' }, packet: { value: true, name: '--packet' } },
      { vip_packetprojectid: '0b3f6a2e-1c4d-4e5f-8a9b-0c1d2e3f4a5b', PACKET_AUTH_TOKEN: 'tok' },
    );
    expect(c.mode).toBe('bgp');
    expect(c.packet).toBe(true);
  });

  it('reports errors as ConfigError naming the env variable that was set', () => {
    expect(() => load(base, { vip_arpRate: 'fast' })).toThrow(ConfigError);
    expect(() => load(base, { vip_arpRate: 'fast' })).toThrow(/^vip_arpRate /);
  });
});
