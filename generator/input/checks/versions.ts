/** kubernetes.version, etcd.version, containerd.version: only releases the versions table pins with checksums. */
import {
  defaultKubernetesVersion, kubernetesRelease, supportedContainerdVersions, supportedEtcdVersions, supportedKubernetesVersions,
} from '../../versions/versions.ts';
import { kubernetesSettings } from '../effective.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

export function checkVersions(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const version = kubernetesSettings(spec).version.value;
  if (!kubernetesRelease(version)) {
    report(['kubernetes', 'version'], `Kubernetes ${version} is not supported: no release artifacts are pinned with checksums for it`,
      `use one of ${supportedKubernetesVersions.join(', ')}, or leave the key out for ${defaultKubernetesVersion}`);
  }
  if (spec.etcd?.version && !supportedEtcdVersions.includes(spec.etcd.version)) {
    report(['etcd', 'version'], `etcd ${spec.etcd.version} is not pinned in the versions table`,
      `use one of ${supportedEtcdVersions.join(', ')}, or leave the key out for the release paired with Kubernetes ${version}`);
  }
  if (spec.containerd?.version && !supportedContainerdVersions.includes(spec.containerd.version)) {
    report(['containerd', 'version'], `containerd ${spec.containerd.version} is not pinned in the versions table`,
      `use one of ${supportedContainerdVersions.join(', ')}`);
  }
  return problems;
}
