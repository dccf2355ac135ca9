/** The off-host backup example synthesizes as the README shows it: a replicated policy and a disk made from its backup. */
import { App, Testing } from 'cdktf';
import { offsiteBackupsStack, EXAMPLE_REPOSITORY } from '../../examples/offsite-backups.js';

const specs = (json: any) =>
  Object.values(json.resource.terraform_data as Record<string, any>)
    .filter((r) => r.input)
    .map((r) => JSON.parse(r.input));

test('offsite-backups: nightly policy replicated to offsite (90 days there), shop-postgres fromBackup latest', () => {
  const json = JSON.parse(
    Testing.synth(offsiteBackupsStack(Testing.app() as App, 'offsite-backups', { root: '/srv/hs' }), true),
  );
  const all = specs(json);
  const repository = {
    name: 'offsite',
    url: EXAMPLE_REPOSITORY.repository,
    password_file: EXAMPLE_REPOSITORY.passwordFile,
  };
  const policy = all.find((s) => s.policy === 'nightly');
  expect(policy).toMatchObject({
    storage: 'shop-postgres',
    schedule: '0 4 * * *',
    retention_days: '7',
    remote_retention_days: '90',
  });
  expect(JSON.parse(policy.replicate_to)).toEqual(repository);
  const disk = all.find((s) => s.kind === 'disk' && s.name === 'shop-postgres');
  expect(JSON.parse(disk.from_backup)).toEqual({ repository, snapshot: 'latest' });
  // Only paths of secrets: the synthesized stack names the password file, nothing more.
  expect(JSON.stringify(json)).toContain('/etc/hoststore/offsite.pass');
});
