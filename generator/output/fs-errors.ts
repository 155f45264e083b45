/**
 * A file-system error in words a user can act on. Node's messages already
 * start with the code ("ENOSPC: no space left on device, write"), so they are
 * not prefixed with it again.
 */
const CAUSES: Record<string, string> = {
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a path component is a file, not a folder',
  EISDIR: 'a folder is in the way of a file',
  EEXIST: 'something is already in the way',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
  EIO: 'an input/output error from the device',
};

export function describeFsError(err: NodeJS.ErrnoException & { dest?: string }): string {
  const cause = err.code ? CAUSES[err.code] : undefined;
  if (!cause) return err.message;
  const where = [err.path, err.dest].filter(Boolean).join(' -> ');
  return `${cause}${where ? `: ${where}` : ''} (${err.code}${err.syscall ? ` from ${err.syscall}` : ''})`;
}
