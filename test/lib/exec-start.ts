/** A unit file's ExecStart= as systemd reads it, continuation lines joined: the program and its arguments. */
export function execStart(unit: string): { exec: string; args: string[] } {
  const line = unit.replace(/ \\\n\s*/g, ' ').split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`no ExecStart= in:\n${unit}`);
  const [exec, ...args] = line.slice('ExecStart='.length).split(' ');
  return { exec: exec!, args };
}
