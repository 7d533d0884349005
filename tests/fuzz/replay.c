// SPDX-License-Identifier: GPL-2.0-only
/*
 * Run a fuzz target over files (a committed corpus) without libFuzzer:
 * each file is one input. One TAP test for the whole corpus; each input is
 * named in a TAP comment first, so a trap points at its file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int i, bad = 0;

	printf("1..1\n");
	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			printf("# %s: cannot open\n", argv[i]);
			bad++;
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		printf("# %s\n", argv[i]);
		fflush(stdout);
		LLVMFuzzerTestOneInput(buf,
				       n); /* traps on a broken invariant */
	}
	printf("%s 1 - %d corpus inputs replayed, every invariant held\n",
	       bad || argc < 2 ? "not ok" : "ok", argc - 1 - bad);
	return 0;
}
