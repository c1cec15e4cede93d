/* sandbox.c - a seccomp filter that leaves a process its stdio only */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <err.h>
#include <stddef.h>

#include "sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH	AUDIT_ARCH_AARCH64
#endif

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/*
 * Sanitizer runtimes (LeakSanitizer's exit-time scan uses clone and
 * ptrace) and valgrind need far more than this, so a sanitizer build
 * runs unconfined; the stages' -X option does the same for valgrind.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_OFF	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define SANDBOX_OFF	1
#endif
#endif

#if defined(SANDBOX_ARCH) && !defined(SANDBOX_OFF)
int
sandbox_stdio(void)
{
	static struct sock_filter filter[] = {
		/* A foreign syscall ABI could name other calls: refuse it. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		ALLOW(SYS_read), ALLOW(SYS_write),
		ALLOW(SYS_readv), ALLOW(SYS_writev),
		/* send(2) with MSG_DONTWAIT on a socket handed to us */
		ALLOW(SYS_sendto),
#ifdef SYS_poll
		ALLOW(SYS_poll),
#endif
		ALLOW(SYS_ppoll),
		ALLOW(SYS_close), ALLOW(SYS_lseek), ALLOW(SYS_fstat),
#ifdef SYS_newfstatat
		ALLOW(SYS_newfstatat),
#endif
		/* malloc */
		ALLOW(SYS_brk), ALLOW(SYS_mmap), ALLOW(SYS_munmap),
		ALLOW(SYS_mremap), ALLOW(SYS_madvise),
		/* time, randomness (arc4random checks getpid for forks) */
		ALLOW(SYS_clock_gettime), ALLOW(SYS_gettimeofday),
		ALLOW(SYS_getrandom), ALLOW(SYS_getpid),
		/* glibc's locks */
		ALLOW(SYS_futex),
		/* signals already set up, and leaving */
		ALLOW(SYS_rt_sigreturn), ALLOW(SYS_rt_sigprocmask),
		ALLOW(SYS_exit), ALLOW(SYS_exit_group),
		/* ioctl(2) only to count what a pipe holds (xmpp-echo -x):
		 * the request is the low word of args[1] on both ABIs. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FIONREAD, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	static const struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		err(1, "prctl PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		err(1, "prctl PR_SET_SECCOMP");
	return 0;
}
#else
int
sandbox_stdio(void)
{
	return -1;
}
#endif
