/** Text output of several roots: each root's part under a `root DIR:` heading (apart, so a read command loads no synth reader for it). */
export function perRootText(parts: ReadonlyArray<{ readonly root: string; readonly text: string }>): string {
  if (parts.length === 1) return parts[0].text;
  return parts.map((p) => `root ${p.root}:\n${p.text}`).join('\n\n');
}
