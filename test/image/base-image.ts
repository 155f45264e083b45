/**
 * The image test's base: a qcow2 made here from the boot lab's cached Debian
 * 12 root (cloud-init, sshd, sudo, curl, nginx, keepalived, Debian's kernel),
 * standing in for a distribution's cloud image, which cannot be downloaded
 * here. Its file system fills the whole disk (no partition table) and is
 * labelled `root`; the VM boots the root's kernel and initramfs directly
 * (-kernel/-initrd), which is why the build passes qemu_extra_args.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { must, sh } from '../lab/machines.ts';

export interface BaseImage { qcow2: string; kernel: string; initrd: string; kernelArgs: string }

/** The label the base's (and so the golden image's) root file system carries. */
export const ROOT_LABEL = 'root';
const KERNEL_ARGS = `root=LABEL=${ROOT_LABEL} rw console=ttyS0`;

/**
 * A raw ext4 disk (labelled `root`, no partition table) holding an overlay of
 * `root` after `prepare` changed it; the cached root itself is never written.
 */
export async function ext4DiskOfRoot(o: { root: string; work: string; name: string; sizeGiB: number; prepare: (tree: string) => void | Promise<void> }): Promise<string> {
  const dirs = ['tree', 'upper', 'ovl-work'].map((d) => join(o.work, `${o.name}-${d}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  const [tree, upper, ovlWork] = dirs as [string, string, string];
  must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${o.root},upperdir=${upper},workdir=${ovlWork}`, tree]);
  const raw = join(o.work, `${o.name}.raw`);
  try {
    await o.prepare(tree);
    writeFileSync(join(tree, 'etc/fstab'), `LABEL=${ROOT_LABEL} / ext4 rw,errors=remount-ro 0 1\n`);
    must('truncate', ['-s', `${o.sizeGiB}G`, raw]);
    must('mke2fs', ['-q', '-t', 'ext4', '-L', ROOT_LABEL, '-d', tree, raw], 600);
  } finally {
    sh('umount', ['-l', tree]);
  }
  return raw;
}

/** The newest kernel and initramfs in the root's /boot. */
export function kernelOf(root: string): { kernel: string; initrd: string } {
  const boot = join(root, 'boot');
  const kernel = readdirSync(boot).filter((f) => f.startsWith('vmlinuz-')).sort().at(-1);
  const initrd = readdirSync(boot).filter((f) => f.startsWith('initrd.img-')).sort().at(-1);
  if (!kernel || !initrd) throw new Error(`${boot} holds no kernel and initramfs (is linux-image-amd64 in the root?)`);
  return { kernel: join(boot, kernel), initrd: join(boot, initrd) };
}

/** Makes `work`/base.qcow2 from the root, as a distribution's cloud image comes. */
export async function makeBaseImage(root: string, work: string, sizeGiB = 4): Promise<BaseImage> {
  const raw = await ext4DiskOfRoot({
    root, work, name: 'base', sizeGiB,
    // No machine-id yet, no policy that stops services (debian-root.ts adds
    // one while it installs), and none of the lab's extras enabled (Debian's
    // etcd package enables a default member).
    prepare: (tree) => {
      writeFileSync(join(tree, 'etc/machine-id'), '');
      writeFileSync(join(tree, 'etc/hostname'), 'localhost\n');
      for (const f of ['usr/sbin/policy-rc.d', 'etc/systemd/system/multi-user.target.wants/etcd.service', '.complete']) {
        if (existsSync(join(tree, f))) unlinkSync(join(tree, f));
      }
    },
  });
  const qcow2 = join(work, 'base.qcow2');
  must('qemu-img', ['convert', '-O', 'qcow2', raw, qcow2], 600);
  rmSync(raw);
  const { kernel, initrd } = kernelOf(root);
  copyFileSync(kernel, join(work, 'vmlinuz'));
  copyFileSync(initrd, join(work, 'initrd.img'));
  return { qcow2, kernel: join(work, 'vmlinuz'), initrd: join(work, 'initrd.img'), kernelArgs: KERNEL_ARGS };
}
