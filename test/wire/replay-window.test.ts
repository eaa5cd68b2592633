import test from 'ava';
import { ReplayWindow, WINDOW } from '../../src/wire/replay-window.js';

const cases: [string, [bigint, bigint][], boolean[]][] = [
  [
    'in order',
    [
      [1n, 1n],
      [1n, 2n],
      [1n, 3n],
    ],
    [true, true, true],
  ],
  [
    'duplicate',
    [
      [1n, 5n],
      [1n, 5n],
    ],
    [true, false],
  ],
  [
    'reordered within the window',
    [
      [1n, 10n],
      [1n, 8n],
      [1n, 9n],
      [1n, 8n],
    ],
    [true, true, true, false],
  ],
  [
    'older than the window',
    [
      [1n, 100n],
      [1n, 100n - WINDOW],
    ],
    [true, false],
  ],
  [
    'edge of the window',
    [
      [1n, 100n],
      [1n, 100n - WINDOW + 1n],
    ],
    [true, true],
  ],
  [
    'big jump clears the bitmap',
    [
      [1n, 1n],
      [1n, 1000n],
      [1n, 999n],
      [1n, 1n],
    ],
    [true, true, true, false],
  ],
  [
    'new boot resets',
    [
      [1n, 50n],
      [2n, 1n],
      [2n, 1n],
      [1n, 51n],
    ],
    [true, true, false, false],
  ],
];

for (const [name, frames, expected] of cases) {
  test(`replay window: ${name}`, (t) => {
    const w = new ReplayWindow();
    t.deepEqual(
      frames.map(([boot, seq]) => w.accept(boot, seq)),
      expected,
    );
  });
}
