// Providers composed by mode: Packet EIP = the address on lo (every node) + the Elastic IP mover; BGP = the
// address on lo + the speaker. The parts act in order when taking the VIP and in reverse when letting it go,
// so the address is there before the network is told to route to it, and the route goes before the address.
import type { ReleaseReason, VipProvider } from './provider.js';

export class ComposedProvider implements VipProvider {
  constructor(
    readonly name: string,
    private readonly parts: readonly VipProvider[],
  ) {}

  async prepare(): Promise<void> {
    for (const p of this.parts) await p.prepare();
  }

  async acquire(): Promise<void> {
    for (const p of this.parts) await p.acquire();
  }

  /** Every part is asked, even when one fails; the first failure is reported. */
  async release(reason?: ReleaseReason): Promise<void> {
    await this.each([...this.parts].reverse(), (p) => p.release(reason));
  }

  /** Every part repairs its own drift, even when another one fails; the first failure is reported. */
  async reconcile(): Promise<void> {
    await this.each(this.parts, (p) => p.reconcile());
  }

  async close(): Promise<void> {
    await this.each([...this.parts].reverse(), (p) => p.close());
  }

  leaderChanged(identity: string): void {
    for (const p of this.parts) p.leaderChanged?.(identity);
  }

  private async each(parts: readonly VipProvider[], fn: (p: VipProvider) => Promise<void>): Promise<void> {
    let first: unknown;
    for (const p of parts) {
      try {
        await fn(p);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }
}
