/**
 * What a PKI run tells its caller: each thing it makes and why, and the
 * problems that stop it before anything is written.
 */

export interface PkiChange {
  /** `ca/kubernetes`, `apiserver`, `etcd-server/<member>`, `service-account`, `bootstrap-token`... */
  item: string;
  /** The file in the state folder: `apiserver.crt`. */
  path: string;
  reason: string;
}

/** Why something is made this run: for the first time, or to replace what was there. */
export interface Made {
  change: 'created' | 'reissued';
  reason: string;
}

/** One change of the run, before the report sorts it into created and reissued. */
export type Change = PkiChange & Pick<Made, 'change'>;

export interface PkiProblem { file: string; message: string }

/** The existing PKI cannot be used as it is; nothing must be written. */
export class PkiError extends Error {
  constructor(readonly problems: PkiProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.message}`).join('\n'));
    this.name = 'PkiError';
  }
}

/** Every problem with what to do about it. */
export function advised(problems: readonly PkiProblem[], advice: string): PkiProblem[] {
  return problems.map((p) => ({ file: p.file, message: `${p.message}; ${advice}` }));
}
