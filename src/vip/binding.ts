// The VIP bound to an interface on every node, leader or not: the Elastic IP and BGP models. The network
// (Metal's routers, or the BGP peers) sends the VIP's traffic to one node only, and that node must accept it
// the moment the route points at it, so the address cannot wait for leadership. Scope host (IPv4): the
// address is never picked as the source of this node's own traffic to other hosts. IPv6 takes the scope of
// the address itself whatever is asked (the kernel's rule), so an IPv6 VIP on lo is global.
import type { Logger } from '../log.js';
import type { AddressPort } from './arp.js';
import type { VipProvider } from './provider.js';

export interface LocalBindingOptions {
  ifname: string;
  vip: string;
  /** 32 or 128. */
  prefix: number;
  addresses: Pick<AddressPort, 'add' | 'has' | 'remove'>;
  log: Logger;
  /**
   * Leave the address on lo when kvip stops (Packet mode): until the next leader moves the Elastic IP, the
   * network still routes it here, and this node keeps answering instead of dropping it. The next start
   * removes it and binds it again.
   */
  keepOnClose?: boolean;
}

export class LocalBinding implements VipProvider {
  readonly name = 'binding';
  private bound = false;

  constructor(private readonly o: LocalBindingOptions) {}

  async prepare(): Promise<void> {
    await this.bind();
    this.o.log.info(
      { vip: this.o.vip, interface: this.o.ifname },
      `bound the virtual IP to ${this.o.ifname} (every node has it; the network routes it to the leader)`,
    );
  }

  /** Nothing to do at leadership changes: the address is there on every node. */
  async acquire(): Promise<void> {
    if (!this.bound) await this.bind();
  }

  async release(): Promise<void> {
    // Kept on leadership loss: until the next leader moves the route, traffic still reaches this node.
  }

  /** Someone removed it (`ip addr flush`): put it back. */
  async reconcile(): Promise<void> {
    if (await this.o.addresses.has(this.o.ifname, this.o.vip, this.o.prefix)) return;
    this.o.log.warn(
      { vip: this.o.vip, interface: this.o.ifname },
      'the virtual IP was removed from lo; adding it back',
    );
    await this.bind();
  }

  /** On shutdown, after the lease is released: no address left behind, unless keepOnClose. */
  async close(): Promise<void> {
    if (!this.bound || this.o.keepOnClose === true) return;
    this.bound = false;
    await this.o.addresses.remove(this.o.ifname, this.o.vip, this.o.prefix);
  }

  private async bind(): Promise<void> {
    await this.o.addresses.add(this.o.ifname, this.o.vip, this.o.prefix, { scope: 'host' });
    this.bound = true;
  }
}
