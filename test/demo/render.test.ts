// The demo's renderer: state in, lines out (pure functions), plain and colored.
import {
  renderEvent,
  renderLegend,
  renderRow,
  renderSummary,
  type Row,
  type Slot,
} from '../../src/demo/render.js';

const plain = { color: false };
const color = { color: true };
const SLOTS = 10;

function row(slots: Slot[], lease: Row['lease'] = { holder: 'n1', expired: false }): Row {
  return { second: 7, lease, slots, slotMs: 100 };
}

// eslint-disable-next-line no-control-regex -- ANSI escapes are what is being looked for
const ANSI = /\x1b\[[0-9;]*m/g;

describe('renderRow', () => {
  it('draws one digit per slot for the node that answered, the lease holder and who answered', () => {
    expect(renderRow(row(Array(SLOTS).fill('n1')), plain, SLOTS)).toBe(
      '   7s  lease n1         |1111111111| n1',
    );
  });

  it('marks slots without an answer and sums them, and names both nodes of a switch in order', () => {
    const slots = ['n1', 'n1', '', '', '', 'n2', 'n2', 'n2', 'n2', 'n2'];
    expect(renderRow(row(slots, { holder: 'n2', expired: false }), plain, SLOTS)).toBe(
      '   7s  lease n2         |11...22222| n1 -> n2, no answer 300 ms',
    );
  });

  it('names a node once when a silence interrupts its answers', () => {
    const slots = ['n1', 'n1', '', 'n1', 'n1', 'n1', 'n1', 'n1', 'n1', 'n1'];
    expect(renderRow(row(slots), plain, SLOTS)).toBe(
      '   7s  lease n1         |11.1111111| n1, no answer 100 ms',
    );
  });

  it('leaves slots before any answer blank, pads a row still being filled, and says when nobody holds the lease', () => {
    expect(renderRow(row([null, null, 'n3']), plain, SLOTS)).toBe('   7s  lease n1         |  3       | n3');
    expect(renderRow(row([null], { holder: '', expired: false }), plain, SLOTS)).toBe(
      '   7s  lease nobody     |          |',
    );
  });

  it('says when the holder let the lease expire', () => {
    expect(renderRow(row(Array(SLOTS).fill(''), { holder: 'n2', expired: true }), plain, SLOTS)).toBe(
      '   7s  lease n2 expired |..........| no answer 1000 ms',
    );
  });

  it('BGP: shows where the router sends the VIP, or that it has no route', () => {
    expect(renderRow({ ...row(Array(SLOTS).fill('n2')), route: 'n2' }, plain, SLOTS)).toBe(
      '   7s  lease n1         route n2   |2222222222| n2',
    );
    expect(renderRow({ ...row(Array(SLOTS).fill('')), route: '' }, plain, SLOTS)).toBe(
      '   7s  lease n1         route none |..........| no answer 1000 ms',
    );
  });

  it('in color: blocks colored per node and red for no answer, the same text once the colors are taken out', () => {
    const slots: Slot[] = ['n1', '', 'n3'];
    const line = renderRow(row(slots), color, 3);
    expect(line).toContain('\x1b[32m█\x1b[0m'); // n1 green
    expect(line).toContain('\x1b[31m░\x1b[0m'); // no answer red
    expect(line).toContain('\x1b[35m█\x1b[0m'); // n3 magenta
    expect(line.replace(ANSI, '')).toBe('   7s  lease n1         ▕█░█▏ n1 -> n3, no answer 100 ms');
  });
});

describe('renderEvent', () => {
  it('stamps the event with seconds since the start, ASCII only without color', () => {
    expect(renderEvent(12345, 'SIGTERM to n1', plain)).toBe('  +12.3s  SIGTERM to n1');
    expect(renderEvent(12345, 'x', color)).toBe('\x1b[2m  +12.3s\x1b[0m  x');
  });
});

describe('renderLegend', () => {
  it('says what each character of a row stands for, in the same characters as the rows', () => {
    expect(renderLegend(['n1', 'n2'], 20, plain)).toBe(
      "One row a second, one character per 20 ms of the client's probes: 1 n1, 2 n2 = answered by that node, . = no answer",
    );
    expect(renderLegend(['n1'], 20, color).replace(ANSI, '')).toMatch(
      /: █ n1 = answered by that node, ░ = no answer$/,
    );
  });
});

describe('renderSummary', () => {
  it('lists each outage with what was done and its length, then the log lines of each node', () => {
    const lines = renderSummary(
      {
        vip: '198.51.100.100',
        probeIntervalMs: 5,
        outages: [
          { action: 'SIGTERM', from: 'n1', to: 'n2', ms: 611.6 },
          { action: 'SIGKILL', from: 'n2', to: 'n3', ms: 4870.2 },
        ],
        log: [
          { node: 'n1', ms: 1234, msg: 'successfully acquired lease' },
          { node: 'n2', ms: 20001, msg: 'released the lease' },
        ],
      },
      plain,
    );
    expect(lines[1]).toBe('Outages, as the client saw them (a UDP probe to 198.51.100.100 every 5 ms):');
    expect(lines[2]).toMatch(/^ {2}1\. SIGTERM to n1: .* +n1 -> n2 +612 ms$/);
    expect(lines[3]).toMatch(/^ {2}2\. n2 dies \(SIGKILL, link cut\): .* +n2 -> n3 +4870 ms$/);
    expect(lines.slice(-2)).toEqual([
      '  n1    +1.234s  successfully acquired lease',
      '  n2   +20.001s  released the lease',
    ]);
    expect(lines.join('\n')).not.toMatch(ANSI);
  });
});
