// The live timeline: the probe's slot reports become rows of one second each, the Lease's holder labels
// them, and events go between them. On a terminal the row being filled is redrawn in place (carriage
// return and erase-line only); elsewhere only complete rows are written, one line each.
import { renderEvent, renderRow, type Row, type Slot, type Style } from './render.js';

const CLEAR_LINE = '\r\x1b[2K';

export class Timeline {
  private readonly rows = new Map<number, Slot[]>();
  private lease: Row['lease'] = { holder: '', expired: false };
  private route: string | undefined;
  private next = 0; // the first row not written yet
  private answered = false;
  private readonly slotsPerRow: number;

  constructor(
    private readonly o: {
      out: (text: string) => void;
      style: Style;
      /** Live redraw of the row being filled (a terminal). */
      live: boolean;
      /** Wall-clock ms of second 0; a multiple of slotMs. */
      t0: number;
      slotMs: number;
    },
  ) {
    this.slotsPerRow = Math.round(1000 / o.slotMs);
  }

  /** ms since second 0. */
  since(t = Date.now()): number {
    return t - this.o.t0;
  }

  /** The probe's report: which node answered in each slot from slot number `first` on ('' nobody). */
  addSlots(first: number, nodes: string[]): void {
    nodes.forEach((node, i) => {
      const offset = (first + i) * this.o.slotMs - this.o.t0;
      if (offset < 0) return;
      if (node !== '') this.answered = true;
      const row = Math.floor(offset / 1000);
      if (row < this.next) return;
      const slots = this.rows.get(row) ?? [];
      slots[Math.floor((offset % 1000) / this.o.slotMs)] = node === '' && !this.answered ? null : node;
      this.rows.set(row, slots);
    });
    const last =
      nodes.length > 0 ? Math.floor(((first + nodes.length) * this.o.slotMs - this.o.t0) / 1000) : 0;
    this.redraw(() => {
      while (this.next < last) this.writeRow(this.next++);
    });
  }

  setLease(lease: Row['lease']): void {
    this.lease = lease;
  }

  /** BGP: where the router sends the VIP's traffic ('' nowhere); rows show it from then on. */
  setRoute(node: string): void {
    this.route = node;
  }

  event(text: string, t = Date.now()): void {
    this.redraw(() => this.o.out(`${renderEvent(this.since(t), text, this.o.style)}\n`));
  }

  /** Writes the row being filled as it is; nothing is redrawn after it. */
  finish(): void {
    if (this.o.live) this.o.out(CLEAR_LINE);
    if (this.rows.has(this.next)) this.writeRow(this.next++);
  }

  private row(second: number): Row {
    const slots = this.rows.get(second) ?? [];
    // Slots the probe reported nothing for (its reports are whole slots, in order) count as "none yet".
    const filled = Array.from({ length: slots.length }, (_v, i) => slots[i] ?? null);
    const route = this.route === undefined ? {} : { route: this.route };
    return { second, lease: this.lease, ...route, slots: filled, slotMs: this.o.slotMs };
  }

  private writeRow(second: number): void {
    this.o.out(`${renderRow(this.row(second), this.o.style, this.slotsPerRow)}\n`);
    this.rows.delete(second);
  }

  /** Output written while the row being filled is off the screen, then that row drawn again below it. */
  private redraw(write: () => void): void {
    if (this.o.live) this.o.out(CLEAR_LINE);
    write();
    if (this.o.live) this.o.out(renderRow(this.row(this.next), this.o.style, this.slotsPerRow));
  }
}
