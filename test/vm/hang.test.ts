/**
 * Issue 31, items 4 and 5: a hung runtime on a booted appliance. Every process of the active box's tandemd is
 * stopped with SIGSTOP (as a hang: nothing exits, nothing closes). The peer takes over when the heartbeats fall
 * silent; systemd's watchdog (four heartbeat leases, then SIGABRT and SIGKILL 5 s later) or the board's i6300esb (60 s,
 * fed by the worker) acts, whichever comes first, and the test says which with the times; the relay lines
 * (gpio-sim, read from outside tandemd with libgpiod's gpioinfo and the simulator's own value) are seen released to
 * the hardware's bypass; the box comes back as the standby, in sync.
 *
 * Counted as skipped, with the reason, where the image was not built, QEMU or OVMF is missing, or the machine has
 * too little free memory for two VMs.
 */
import test from 'ava';
import { IMAGE, settledPair, vmLabFor } from '../helpers/vm.js';
import { vmMissing } from '../../src/lab/vm.js';
import { until } from '../helpers/lab.js';

const missing = vmMissing(IMAGE, 2);
const name =
  'every tandem process of the active appliance stopped: the peer takes over, a watchdog acts, the relays fall to bypass, the box comes back as standby';

/** The bypass relay line as the hardware sees it: who holds it (gpioinfo) and its level (gpio-sim's own value). */
const RELAY = `gpioinfo -c gpiochip0 0 | tr -s '\\t ' ' '; cat /sys/devices/platform/gpio-sim.*/gpiochip0/sim_gpio0/value`;

interface S {
  role: string;
  peer?: { alive: boolean } | null;
  sync?: { status?: string };
}

if (missing) test.skip(`${name} (skipped: ${missing})`, () => undefined);
else
  test.serial(name, async (t) => {
    t.timeout(25 * 60_000);
    const { lab, say } = await vmLabFor(t, 'hang');
    const pair = await settledPair(t, lab);
    const { active, inactive } = pair;
    const box = lab.vm(active);
    const held = await box.sh(RELAY);
    say(`${active} active; its bypass relay line: ${held.stdout.trim().replace(/\n/g, ', value ')}`);
    t.regex(held.stdout, /output consumer="tandem-\S*wan-lan"/, 'tandemd holds the relay lines');
    const bootId = (await box.sh('cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    const restartsBefore = (await box.sh('systemctl show tandemd -p NRestarts --value')).stdout.trim();

    // The times below are the guests' own clocks (each set from the host's at boot, TCG keeps them on the host's).
    const stop = await box.sh('systemctl kill --signal=SIGSTOP tandemd && date +%s.%N');
    t.is(stop.code, 0, stop.stderr);
    const stopTs = Number(stop.stdout.trim());
    const stoppedAt = Date.now();
    say(`every process of ${active}'s tandemd stopped (SIGSTOP)`);

    // Watch the stopped box: the relay line as the hardware sees it, a new boot (the i6300esb's reset), then the box
    // back as the standby. Polled through the guest agent (a second or two a round under TCG).
    let releasedAt: number | null = null;
    let released = '';
    let rebooted = false;
    let backAt: number | null = null;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline && backAt === null) {
      const r = await box.sh(`cat /proc/sys/kernel/random/boot_id; ${RELAY}`, 20_000).catch(() => null);
      if (r && r.code === 0) {
        const [boot, info, value] = r.stdout.trim().split('\n');
        if (boot !== bootId) rebooted = true;
        if (releasedAt === null && !/consumer=/.test(info ?? '') && value === '1') {
          releasedAt = Date.now();
          released = `${info}, value ${value}`;
        }
        const s = releasedAt === null ? null : ((await lab.status(active)) as S | null);
        if (s?.role === 'inactive' && s.peer?.alive === true) backAt = Date.now();
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    const since = (ms: number | null) => (ms === null ? 'never' : `${((ms - stoppedAt) / 1000).toFixed(1)} s`);
    // The peer's takeover, from its own log.
    const peerLog = await lab.vm(inactive).sh(`journalctl -u tandemd -o cat --no-pager | grep '"event":"takeover"' | tail -1`);
    const takeover = /"ts":"([^"]+)"/.exec(peerLog.stdout);
    const tookOverS = takeover ? Date.parse(takeover[1]!) / 1000 - stopTs : null;
    t.not(tookOverS, null, `${inactive} took over: ${peerLog.stdout}`);
    t.not(releasedAt, null, "the relay line was seen released (held by nobody) at the hardware's bypass level");
    t.not(backAt, null, `${active} came back as the standby`);
    // Which watchdog acted: systemd's says so in the journal of this boot; the i6300esb's reset leaves a new boot.
    const journal = rebooted
      ? ''
      : (await box.sh("journalctl -b -u tandemd --no-pager -o short-unix | grep -E 'Watchdog timeout|with signal SIG|Scheduled restart|Started tandemd'"))
          .stdout;
    const restartsAfter = (await box.sh('systemctl show tandemd -p NRestarts --value')).stdout.trim();
    const steps = journal
      .trim()
      .split('\n')
      .filter((l) => Number(l.split(' ')[0]) >= stopTs)
      .map(
        (l) =>
          `+${(Number(l.split(' ')[0]) - stopTs).toFixed(1)} s ${l.replace(/^\S+ \S+ systemd\[1\]: tandemd\.service: /, '').replace(/^\S+ \S+ systemd\[1\]: /, '')}`,
      );
    const which = rebooted
      ? `the i6300esb reset the box (a new boot: ${bootId.slice(0, 8)} gone)`
      : `systemd's watchdog acted (restarts ${restartsBefore} -> ${restartsAfter}): ${steps.join(' | ')}`;
    t.true(rebooted || Number(restartsAfter) > Number(restartsBefore), `a watchdog acted: ${which}`);
    say(
      `${inactive} took over ${tookOverS?.toFixed(1)} s after the stop (its log; failover time ${lab.timers.failoverTimeMs} ms); relays seen released ${since(releasedAt)} after it (${released}); ${active} back as standby ${since(backAt)} after it`,
    );
    say(`${which}`);
    t.true(await until(async () => ((await lab.status(active)) as S | null)?.sync?.status === 'in-sync', 180_000, 3000), `${active} in sync as the standby`);
    const again = await box.sh(RELAY);
    t.regex(again.stdout, /output consumer="tandem-\S*wan-lan"/, 'the restarted tandemd holds the relay lines again');
  });
