/*
 * sandbox.h - confine a stage to its standard streams, in the spirit of
 * OpenBSD's pledge("stdio"), with a seccomp filter.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

/* Allows from now on only reading and writing open descriptors, poll,
 * memory, time, randomness and exit; any other system call kills the
 * process with SIGSYS.  Calls err(3) when the filter cannot be set.
 * Returns 0, or -1 in a build that cannot confine (a sanitizer build,
 * an architecture without a filter here). */
int	 sandbox_stdio(void);

#endif
