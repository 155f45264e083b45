/**
 * etcd.backup.schedule lands in a timer's OnCalendar=: the generator's check
 * (generator/input/oncalendar.ts) is held to `systemd-analyze calendar`, the
 * parser systemd itself uses. Everything the check accepts, systemd parses and
 * will fire ("Next elapse" is a date); everything systemd refuses or would
 * never fire, the check refuses; the forms it refuses on purpose though
 * systemd takes them are listed, each with the reason it gives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULTS } from '../generator/input/types.ts';
import { onCalendarProblem } from '../generator/input/oncalendar.ts';
import { run } from './lib/run.ts';

function systemd(expression: string): { parsed: boolean; fires: boolean; out: string } {
  const r = run('systemd-analyze', ['calendar', expression], { env: { ...process.env, TZ: 'UTC' } });
  return { parsed: r.status === 0, fires: r.status === 0 && /Next elapse: (?!never)/.test(r.out), out: r.out };
}

const ACCEPTED = [
  DEFAULTS.etcdBackup.schedule,
  'minutely', 'hourly', 'daily', 'Daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually',
  '*-*-* 00/6:00:00', '*-*-* 02:00:00', '02:30', '2:3', '*:0/15', '*:00,30', '0..23/6:00', '1..5/2:00',
  'Mon..Fri 02:30', 'mon,wed 02:30', 'Sat,Sun *-*-* 03:00:00', 'Monday 02:00', 'Mon', 'Sun 03:00 UTC',
  '*-*-01 04:00', '*-*-31 00:00', '*-02-29 01:00', '*-1..3-1', '*-01,07-01 00:00:00', '*-*-* 02:00 UTC', 'Mon *-*-* 02:00 UTC',
  '*-*-* 23:59:59', '*-*-* 0/1:0/5:0/30',
];

/** Refused by systemd itself, or parsed into a timer that never fires. */
const REFUSED = [
  '', ' daily', 'daily ', 'dailyy', 'UTC', '*-*-* 24:00', '*-*-* 00:60', '*-*-* 00:00:60', '*-13-01', '*-00-01', '*-*-32', '*-*-00',
  '5..2:00', 'Fri..Mon 02:00', '02:00,', '*:*/15', '0/0:00', '*-02-30 01:00', '*-2,4-31', '*-04-31', '2020-01-01',
  '*-*-~1', 'Mon.Fri 02:00', '02:00 Mon', 'foo', '*-*-* 02:00; touch /tmp/x', '*-*-* 02:00\nExecStart=/bin/sh',
];

/** Taken by systemd, refused here on purpose; the reason names what to write instead. */
const NARROWER: Record<string, RegExp> = {
  'Mon-Fri 02:00': /write the range with two dots, Mon\.\.Fri/,
  '*-*-* 02:00:00.5': /seconds are whole numbers/,
  '*-*~1': /"~"/,
  '*-02~1 00:00': /"~"/,
  '2030..2040-01-01': /names a year/,
  '*-*-*  02:00': /single spaces/,
};

test('every schedule the check accepts, systemd-analyze calendar parses and will fire', () => {
  for (const e of ACCEPTED) {
    assert.is(onCalendarProblem(e), undefined, `the check refused "${e}": ${onCalendarProblem(e)}`);
    const s = systemd(e);
    assert.ok(s.fires, `systemd on "${e}": ${s.out}`);
  }
});

test('every schedule systemd refuses or would never fire, the check refuses with a reason', () => {
  for (const e of REFUSED) {
    const s = systemd(e);
    assert.not.ok(s.fires, `systemd fires "${e}": ${s.out}`);
    const why = onCalendarProblem(e);
    assert.type(why, 'string', `the check accepted "${JSON.stringify(e)}"`);
    assert.ok(why!.length > 10, why);
  }
});

test('the forms refused on purpose are ones systemd takes, and the reason says what to write', () => {
  for (const [e, reason] of Object.entries(NARROWER)) {
    const s = systemd(e);
    assert.ok(s.parsed, `systemd on "${e}": ${s.out}`);
    assert.match(onCalendarProblem(e) ?? '', reason, e);
  }
});

test.run();
