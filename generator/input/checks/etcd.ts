/**
 * etcd.backup: the schedule lands in a systemd timer's OnCalendar= and must be
 * one systemd runs; the folder must not be etcd's own data folder, which a
 * restore replaces.
 */
import { CONFIG } from '../../model/paths.ts';
import { ONCALENDAR_EXAMPLES, onCalendarProblem } from '../oncalendar.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

export function checkEtcdBackup(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const backup = spec.etcd?.backup;
  if (!backup) return problems;
  if (backup.schedule !== undefined) {
    const why = onCalendarProblem(backup.schedule);
    if (why) report(['etcd', 'backup', 'schedule'], `"${backup.schedule}" is not a systemd OnCalendar schedule: ${why}`, `write one such as ${ONCALENDAR_EXAMPLES}`);
  }
  const dataDir = CONFIG.etcdDataDir;
  if (backup.directory !== undefined && (backup.directory === dataDir || backup.directory.startsWith(`${dataDir}/`))) {
    report(['etcd', 'backup', 'directory'], `${backup.directory} is inside etcd's data folder ${dataDir}, which a restore replaces`, 'keep snapshots elsewhere, e.g. /var/backups/etcd');
  }
  return problems;
}
