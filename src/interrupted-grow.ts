/**
 * The durable marker of a grow under way (`<image>.growing`, beside the image): the storage handler
 * writes it before a grow and removes it after, and the synthesized manifest checks for it at plan
 * time, so a grow that a killed deploy left half done fails the next plan loudly instead of "No changes".
 */
import { imagePath, type StorageKind } from './schema.js';

export function growMarkerPath(root: string, kind: StorageKind, project: string, name: string): string {
  return `${imagePath(root, kind, project, name)}.growing`;
}

/** What the manifest fails the plan with while its grow marker exists. */
export function interruptedGrowCheck(spec: { root: string; kind: StorageKind; project: string; name: string }): {
  file: string;
  message: string;
} {
  const file = growMarkerPath(spec.root, spec.kind, spec.project, spec.name);
  return {
    file,
    message:
      `${spec.kind} ${spec.name}: a grow was interrupted (a deploy was killed mid-grow; ${file} marks it) and its filesystem may not be grown yet. ` +
      `Run \`hoststore up --root ${spec.root}\` to finish it, then apply again.`,
  };
}
