// The live timeline: probe slot reports in, rows of one second out, events between them; on a terminal the
// row being filled is redrawn in place.
import { Timeline } from '../../src/demo/timeline.js';

const SLOT_MS = 100; // ten slots a row
const T0 = 1_000_000; // a multiple of SLOT_MS
const first = (ms: number) => (T0 + ms) / SLOT_MS; // the slot number at `ms` after T0

function timeline(live = false) {
  const out: string[] = [];
  const t = new Timeline({ out: (s) => out.push(s), style: { color: false }, live, t0: T0, slotMs: SLOT_MS });
  return { t, text: () => out.join('') };
}

describe('Timeline', () => {
  it('writes a row once the probe has reported every slot of that second, labelled with the lease holder', () => {
    const { t, text } = timeline();
    t.setLease({ holder: 'n1', expired: false });
    t.addSlots(first(0), Array(9).fill('n1'));
    expect(text()).toBe('');
    t.addSlots(first(900), ['n1', 'n1', '']);
    expect(text()).toBe('   0s  lease n1         |1111111111| n1\n');
  });

  it('no answer before the first one is blank; after it, a missing answer is an outage', () => {
    const { t, text } = timeline();
    t.addSlots(first(0), ['', '', 'n2', 'n2', '', '', 'n3', 'n3', 'n3', 'n3', 'n3']);
    expect(text()).toBe('   0s  lease nobody     |  22..3333| n2 -> n3, no answer 200 ms\n');
  });

  it('ignores slots from before second 0, and finish() writes the row being filled', () => {
    const { t, text } = timeline();
    t.addSlots(first(-300), ['n1', 'n1', 'n1', 'n1', 'n1']);
    t.finish();
    expect(text()).toBe('   0s  lease nobody     |11        | n1\n');
  });

  it('labels rows with the route once there is one to show (BGP)', () => {
    const { t, text } = timeline();
    t.setRoute('n3');
    t.addSlots(first(0), Array(11).fill('n3'));
    expect(text()).toBe('   0s  lease nobody     route n3   |3333333333| n3\n');
  });

  it('puts events between rows, stamped with their time', () => {
    const { t, text } = timeline();
    t.event('SIGTERM to n1', T0 + 1500);
    expect(text()).toBe('   +1.5s  SIGTERM to n1\n');
  });

  it('live: erases and redraws the row being filled after every change', () => {
    const { t, text } = timeline(true);
    t.addSlots(first(0), ['n1', 'n1']);
    t.event('hello', T0 + 200);
    expect(text()).toBe(
      '\r\x1b[2K   0s  lease nobody     |11        | n1' +
        '\r\x1b[2K   +0.2s  hello\n   0s  lease nobody     |11        | n1',
    );
  });

  it('live: finish() leaves the last row written once, with nothing drawn below it', () => {
    const { t, text } = timeline(true);
    t.addSlots(first(0), ['n1']);
    t.finish();
    expect(text()).toBe(
      '\r\x1b[2K   0s  lease nobody     |1         | n1\r\x1b[2K   0s  lease nobody     |1         | n1\n',
    );
  });
});
