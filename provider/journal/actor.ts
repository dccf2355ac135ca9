/** Who this process acts for, as the journal records it: set once by the command line before a command runs. */
import type { Actor } from './event.js';

let current: Actor = 'cli';

export function setActor(actor: Actor): void {
  current = actor;
}

export function currentActor(): Actor {
  return current;
}
