/** `hoststore import PATH --name N`: bring an existing image or directory under management, as adopt would. */
import { Command, Option } from 'commander';
import { action } from './action.js';
import { examples, globalsOf, projectOption, rootOption } from './options.js';

export function importCommand(): Command {
  return new Command('import')
    .description(
      'bring an existing image or directory under management: moved into the root (or copied with --copy), retained until a stack declares NAME',
    )
    .argument('<path>', 'the image file or directory to bring in')
    .addOption(new Option('--name <name>', 'the storage name a stack will declare').makeOptionMandatory())
    .addOption(
      new Option('--kind <kind>', 'what it becomes (default: disk for a file, directory for a directory)').choices([
        'disk',
        'volume',
        'directory',
      ]),
    )
    .addOption(
      new Option('--copy', 'copy instead of moving (needed across filesystems); the original is left as it was'),
    )
    .addOption(projectOption())
    .addOption(rootOption())
    .addHelpText(
      'after',
      examples(
        'hoststore import /old/pg.img --name myapp-postgres',
        'hoststore import /srv/uploads --name uploads --project shop --copy',
      ),
    )
    .action(
      action(async (file: string, options: { name: string; kind?: string; copy?: boolean }, command: Command) =>
        (await import('../commands/import.js')).importStorage([file], {
          ...globalsOf(command),
          name: options.name,
          kind: options.kind,
          copy: options.copy ?? false,
        }),
      ),
    );
}
