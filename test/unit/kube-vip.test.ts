// kube-vip's options kvip does not implement: accepted with one warning line each (or silently when kvip does
// that anyway), never written into a manifest, and `manager` runs `start`.
import { KUBE_VIP_ONLY, kubeVipOnlyWarnings } from '../../src/config/kube-vip.js';
import { runCli } from '../helpers/cli.js';

const POD = ['manifest', 'pod', '--vip', '198.51.100.10', '--interface', 'eth0'];
// `check` loads the runtime config and exits 2 (kvnope0 does not exist): the runtime path, nothing sent.
const CHECK = ['check', '--vip', '198.51.100.10', '--interface', 'kvnope0'];

describe('the table', () => {
  it('is accepted silently where kvip does the same', () => {
    expect(kubeVipOnlyWarnings({ '--controlplane': true, '--services': 'false' }, {})).toEqual([]);
    expect(kubeVipOnlyWarnings({}, { cp_enable: 'true', svc_enable: 'false', lb_port: '' })).toEqual([]);
    expect(kubeVipOnlyWarnings({}, { egress_withnftables: 'false', cp_namespace: 'x' })).toEqual([]);
  });

  it('warns once per option set to what kvip does not do, naming it as given', () => {
    expect(kubeVipOnlyWarnings({ '--controlplane': 'false', '--services': true }, {})).toEqual([
      'warning: --controlplane is ignored: kvip always holds the control-plane VIP',
      expect.stringMatching(/^warning: --services is ignored: kvip holds the control-plane VIP only/),
    ]);
    expect(
      kubeVipOnlyWarnings(
        {},
        { svc_enable: 'true', egress_servicecidr: '10.96.0.0/12', egress_podcidr: 'x' },
      ),
    ).toEqual([
      expect.stringMatching(/^warning: svc_enable is ignored: /),
      expect.stringMatching(/^warning: egress_podcidr is ignored: /),
      expect.stringMatching(/^warning: egress_servicecidr is ignored: /),
    ]);
  });

  it('takes a flag over the env name of the same option', () => {
    expect(kubeVipOnlyWarnings({ '--services': 'false' }, { svc_enable: 'true' })).toEqual([]);
  });

  it('warns about a value option whatever its value, and a switch set to something unreadable', () => {
    expect(kubeVipOnlyWarnings({ '--lbPort': '6443' }, { vip_ddns: 'maybe' })).toHaveLength(2);
  });
});

describe('on the command line', () => {
  it('accepts every option of the table on manifest pod, daemonset and check', async () => {
    const commands = [POD, ['manifest', 'daemonset', ...POD.slice(2), '--leaderElection'], CHECK];
    for (const cmd of commands)
      for (const o of KUBE_VIP_ONLY) {
        const r = await runCli([...cmd, o.flag, o.kvip === undefined ? 'x' : String(!o.kvip)]);
        expect([o.flag, r.code]).toEqual([o.flag, cmd === CHECK ? 2 : 0]);
        expect(r.err).toMatch(new RegExp(`^warning: ${o.flag} is ignored: `));
      }
  });

  it('writes none of them into the manifest, and warns on stderr only', async () => {
    const plain = await runCli(POD);
    const env = { cp_enable: 'true', svc_enable: 'true', lb_enable: 'true', lb_port: '6443' };
    const r = await runCli([...POD, '--controlplane', '--services', '--lbForwardingMethod', 'local'], env);
    expect(r.code).toBe(0);
    expect(r.out).toBe(plain.out);
    expect(r.err.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^warning: --services is ignored/),
      expect.stringMatching(/^warning: lb_enable is ignored/),
      expect.stringMatching(/^warning: lb_port is ignored/),
      expect.stringMatching(/^warning: --lbForwardingMethod is ignored/),
    ]);
  });

  it('never prints a value', async () => {
    const S = 'KVsentinel9e2f41';
    const r = await runCli([...CHECK, '--dhcpMode', S, `--lbPort=${S}`, '--services', S], {
      lb_fwdmethod: S,
      egress_podcidr: S,
      cp_enable: S,
    });
    expect(r.code).toBe(2);
    expect(r.err.split('\n').filter((l) => l.startsWith('warning: '))).toHaveLength(6);
    expect(r.out + r.err).not.toContain(S);
  });

  it('prints no warning before a bad-input error: that stays one line', async () => {
    const r = await runCli(['manifest', 'pod', '--vip', 'nope', '--services'], { svc_enable: 'true' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: --vip must be .*\n$/);
  });

  it('still refuses kube-vip options outside the table', async () => {
    const r = await runCli([...POD, '--zebra']);
    expect(r.code).toBe(2);
    expect(r.err).toBe("kvip: unknown option '--zebra'\n");
  });
});

describe('manager', () => {
  // Only on an interface that does not exist: `manager` is `start`.
  const ARGS = ['--vip', '198.51.100.10', '--interface', 'kvnope0'];

  it('runs start: same checks, same result', async () => {
    const start = await runCli(['start', ...ARGS]);
    const manager = await runCli(['manager', ...ARGS, '--controlplane']);
    expect(manager.code).toBe(2);
    expect(manager).toEqual(start);
  });

  it('warns about a kube-vip feature, then goes on', async () => {
    const r = await runCli(['manager', ...ARGS, '--services']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^warning: --services is ignored: .*\nkvip: .*kvnope0/);
  });

  it('is refused in-cluster without leader election, as start is', async () => {
    const r = await runCli(['manager', ...ARGS], { vip_incluster: 'true' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^kvip: --leaderElection \(vip_leaderelection\) is required with vip_incluster/);
  });
});
