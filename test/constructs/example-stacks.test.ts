/** Both example stacks synthesize, validate, and hold what the product documents describe. */
import { App, Testing } from 'cdktf';
import { webAppStack } from '../../examples/web-app.js';
import { postgresStack } from '../../examples/postgres.js';

/** Every thing's full spec (each carrier's input; the manifest has none). */
const configs = (json: any) =>
  Object.values(json.resource.terraform_data as Record<string, any>)
    .filter((r) => r.input)
    .map((r) => JSON.parse(r.input));

test('web app: SQLite volume with nightly snapshots, shared read-only model weights, directory uploads', () => {
  const json = JSON.parse(Testing.synth(webAppStack(Testing.app() as App, 'web-app', '/srv/hs'), true));
  const triggers = configs(json);
  expect(triggers).toContainEqual(
    expect.objectContaining({ kind: 'volume', name: 'sqlite-1', size_gb: '10', filesystem: 'ext4', shared: 'false' }),
  );
  expect(triggers).toContainEqual(
    expect.objectContaining({ policy: 'nightly', storage: 'sqlite-1', schedule: '0 4 * * *', retention_days: '7' }),
  );
  expect(triggers).toContainEqual(expect.objectContaining({ kind: 'volume', name: 'models', shared: 'true' }));
  expect(
    triggers.filter((t) => t.storage === 'models' && t.read_only === 'true' && t.service === 'inference'),
  ).toHaveLength(3);
  expect(triggers).toContainEqual(expect.objectContaining({ kind: 'directory', name: 'uploads', size_gb: '' }));
});

test('postgres: myapp-postgres 20 GB ext4 at the PGDATA parent, myapp-uploads 50 GB xfs', () => {
  const json = JSON.parse(Testing.synth(postgresStack(Testing.app() as App, 'postgres', '/srv/hs'), true));
  const triggers = configs(json);
  expect(triggers).toContainEqual(
    expect.objectContaining({ kind: 'disk', name: 'myapp-postgres', size_gb: '20', filesystem: 'ext4' }),
  );
  expect(triggers).toContainEqual(
    expect.objectContaining({ storage: 'myapp-postgres', mount_path: '/var/lib/postgresql/data', service: 'db' }),
  );
  expect(triggers).toContainEqual(
    expect.objectContaining({ kind: 'disk', name: 'myapp-uploads', size_gb: '50', filesystem: 'xfs' }),
  );
  expect(triggers).toContainEqual(expect.objectContaining({ storage: 'myapp-uploads', mount_path: '/app/uploads' }));
});
