/** Commander actions return nothing: the exit status a command's library function returns is kept here. */
let status = 0;

export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number> | number,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    status = await fn(...args);
  };
}

export function exitStatus(): number {
  return status;
}
