/**
 * A running libvirtd for the tests: the system's when it answers, otherwise
 * started here (virtlogd, which qemu domains log through, then libvirtd),
 * and stopped again by stop() — only what was started here, by its pid.
 * Needs root and Debian's libvirt-daemon-system (test/setup.sh).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type Ran } from './run.ts';

export const LIBVIRT_URI = 'qemu:///system';

export function virsh(args: string[], timeoutSeconds = 60): Ran {
  return run('virsh', ['-c', LIBVIRT_URI, ...args], { timeoutSeconds });
}

const answers = () => virsh(['version'], 10).status === 0;

export interface Libvirtd { startedHere: boolean; stop: () => void }

/**
 * Where udev does not run (containers, this kind of CI machine), /dev/kvm
 * keeps the kernel's root-only mode: qemu finds KVM when libvirt probes it,
 * but libvirt then sees its qemu user shut out of /dev/kvm, calls its
 * capabilities stale and probes again on every call (minutes per define).
 * Debian's udev rule gives /dev/kvm group kvm, mode 0660; so does this.
 */
function kvmAsUdevLeavesIt(): void {
  if (!existsSync('/dev/kvm')) return;
  const kvmGroup = /^kvm:x:(\d+):/m.exec(readFileSync('/etc/group', 'utf8'))?.[1];
  if (kvmGroup === undefined) return;
  const st = statSync('/dev/kvm');
  if (st.gid !== Number(kvmGroup) || (st.mode & 0o060) !== 0o060) {
    chownSync('/dev/kvm', st.uid, Number(kvmGroup));
    chmodSync('/dev/kvm', 0o660);
  }
}

export async function ensureLibvirtd(): Promise<Libvirtd> {
  kvmAsUdevLeavesIt();
  // The network driver writes each network's MAC list here when a domain
  // starts, and fails the start when the folder is missing, as it is after
  // an install on this machine (no package ships it).
  mkdirSync('/var/lib/libvirt/dnsmasq', { recursive: true, mode: 0o755 });
  if (answers()) return { startedHere: false, stop: () => {} };
  const started: string[] = [];
  for (const daemon of ['virtlogd', 'libvirtd']) {
    const pidFile = `/run/${daemon}.pid`;
    const running = existsSync(pidFile) && existsSync(`/proc/${readFileSync(pidFile, 'utf8').trim()}`);
    if (running) continue;
    const r = spawnSync(daemon, ['--daemon', '--pid-file', pidFile], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${daemon} --daemon: ${r.stderr || r.error?.message}`);
    started.push(pidFile);
  }
  for (let i = 0; i < 60 && !answers(); i++) await sleep(250);
  if (!answers()) throw new Error(`libvirtd does not answer on ${LIBVIRT_URI}: ${virsh(['version']).stderr}`);
  return {
    startedHere: true,
    stop: () => {
      for (const pidFile of started.reverse()) {
        try { process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM'); } catch { /* gone */ }
      }
    },
  };
}
