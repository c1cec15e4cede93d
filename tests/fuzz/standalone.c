/*
 * standalone - runs a libFuzzer harness on files, without libFuzzer
 *
 * Linked with a harness by any C compiler, so that tests/0012 replays the
 * corpus and the reproducers with the harness's own checks where clang is
 * missing.  A failed check exits non-zero, a crash dies of its signal.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "record.h"

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	struct buf	 b = { 0 };
	FILE		*fp;
	char		 tmp[4096];
	size_t		 n;
	int		 i;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if ((fp = fopen(argv[i], "rb")) == NULL)
			err(1, "%s", argv[i]);
		buf_reset(&b);
		while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
			buf_add(&b, tmp, n);
		if (ferror(fp))
			err(1, "%s", argv[i]);
		fclose(fp);
		/* An exact copy: the harness must not read past its input. */
		LLVMFuzzerTestOneInput((const uint8_t *)b.p, b.len);
	}
	buf_free(&b);
	return 0;
}
