/**
 * systemd OnCalendar= expressions (systemd.time(7)), checked before one lands
 * in a .timer file: a schedule systemd would refuse, or accept and never fire
 * (February 30th, a year gone by), must be a spec error here, not a timer that
 * silently never runs on the hosts. No npm package parses this grammar, so
 * this is a deliberately narrow reading of it: every expression accepted here
 * is one systemd accepts and fires (test/spec-oncalendar.test.ts holds it to
 * `systemd-analyze calendar`); a few rarer forms systemd also takes (years,
 * `~` for the last days of a month, fractional seconds, time zones other than
 * UTC, `Mon-Fri` for `Mon..Fri`) are refused with the form to write instead.
 */

/** The shorthands systemd knows, case-insensitive, as it normalizes them. */
const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
};

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WEEKDAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
/** The most days each month can have (February in a leap year). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export const ONCALENDAR_EXAMPLES = 'daily, *-*-* 00/6:00:00 (every 6 hours), Mon..Fri 02:30, Sun 03:00 UTC';

class Refused extends Error {}

function weekday(name: string): number {
  const lower = name.toLowerCase();
  const i = WEEKDAYS.indexOf(lower) >= 0 ? WEEKDAYS.indexOf(lower) : WEEKDAY_NAMES.indexOf(lower);
  if (i < 0) throw new Refused(`"${name}" is not a weekday (Mon, Tue... or Monday, Tuesday...)`);
  return i;
}

function checkWeekdays(token: string): void {
  for (const item of token.split(',')) {
    const range = item.split('..');
    if (range.length > 2 || range.some((r) => r === '')) throw new Refused(`weekdays "${token}": write a list such as Mon,Wed or a range such as Mon..Fri`);
    const [from, to] = range.map(weekday) as [number, number?];
    if (to !== undefined && to < from) throw new Refused(`weekday range "${item}" runs backwards: write it from Mon towards Sun`);
  }
}

/** The values one date or time field takes: `*`, or a list of values, `a..b` ranges and `/step` repetitions. */
function fieldValues(text: string, name: string, min: number, max: number): number[] {
  const all = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  if (text === '*') return all;
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\d{1,2})(?:\.\.(\d{1,2}))?(?:\/(\d{1,2}))?$/.exec(item);
    if (!m) throw new Refused(`${name} "${text}": each item is a number, a range a..b or a repetition a/n (or a..b/n), comma-separated; or *`);
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : (m[3] !== undefined ? max : from);
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (const v of [from, to]) if (v < min || v > max) throw new Refused(`${name} ${v} is outside ${min}-${max}`);
    if (to < from) throw new Refused(`${name} range "${item}" runs backwards`);
    if (step < 1) throw new Refused(`${name} "${item}": a repetition needs a step of at least 1`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values];
}

function checkDate(token: string): void {
  const parts = token.split('-');
  if (parts.length === 3) {
    if (parts[0] !== '*') throw new Refused(`"${token}" names a year: a backup schedule repeats, so leave the year out (${parts.slice(1).join('-')}) or write *`);
    parts.shift();
  }
  if (parts.length !== 2) throw new Refused(`date "${token}": write month-day or *-month-day, such as *-*-01`);
  if (parts[1]!.includes('~')) throw new Refused(`date "${token}": "~" (days counted from the month's end) is not taken here; name the days`);
  const months = fieldValues(parts[0]!, 'month', 1, 12);
  const days = fieldValues(parts[1]!, 'day', 1, 31);
  if (!months.some((m) => days.some((d) => d <= MONTH_DAYS[m - 1]!))) {
    throw new Refused(`date "${token}" never comes: none of those months has that day`);
  }
}

function checkTime(token: string): void {
  const parts = token.split(':');
  if (parts.length < 2 || parts.length > 3) throw new Refused(`time "${token}": write hour:minute or hour:minute:second, such as 02:30`);
  if (parts[2]?.includes('.')) throw new Refused(`time "${token}": seconds are whole numbers here`);
  fieldValues(parts[0]!, 'hour', 0, 23);
  fieldValues(parts[1]!, 'minute', 0, 59);
  if (parts[2] !== undefined) fieldValues(parts[2], 'second', 0, 59);
}

/** Why `text` is not a schedule systemd will run, or undefined when it is one. */
export function onCalendarProblem(text: string): string | undefined {
  try {
    if (text.trim() !== text || /\s{2,}|[\t\n\r]/.test(text)) throw new Refused('fields are separated by single spaces, with none around the expression');
    if (text === '') throw new Refused('the schedule is empty');
    if (SHORTHANDS[text.toLowerCase()] !== undefined) return undefined;
    const tokens = text.split(' ');
    if (tokens.at(-1) === 'UTC') tokens.pop();
    if (tokens.length === 0) throw new Refused('a time zone alone is no schedule');
    if (/^[A-Za-z]/.test(tokens[0]!)) {
      const first = tokens.shift()!;
      if (/^[A-Za-z]+-[A-Za-z]+$/.test(first)) throw new Refused(`weekdays "${first}": write the range with two dots, ${first.replace('-', '..')}`);
      checkWeekdays(first);
    }
    const date = tokens[0]?.includes('-') ? tokens.shift()! : undefined;
    const time = tokens[0]?.includes(':') ? tokens.shift()! : undefined;
    if (tokens.length > 0) throw new Refused(`"${tokens.join(' ')}" is not a weekday, date (*-*-01), time (02:30) or UTC, in that order`);
    if (date === undefined && time === undefined && !/^[A-Za-z]/.test(text)) throw new Refused('no date or time');
    if (date !== undefined) checkDate(date);
    if (time !== undefined) checkTime(time);
    return undefined;
  } catch (err) {
    if (err instanceof Refused) return err.message;
    throw err;
  }
}
