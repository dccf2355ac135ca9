/** The variables a handler reads (handle.ts, converge-project.ts): the only ones sent to, and accepted by, a host. */
export const FORWARDED_ENV = /^HOSTSTORE_(SPEC|SPEC_[1-9][0-9]{0,5}|STACK|PROJECT_NOW)$/;
