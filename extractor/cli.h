/* cli.h — what the command-line tools share and the library does not: the weights search
 * policy and flag value helpers. It is: for the mains only (never in libxfer.a). It is not:
 * part of the library API.
 */
#ifndef XF_CLI_H
#define XF_CLI_H

#include "base.h"

/* "R,G,B" flag values (1 when three numbers). */
int xf__parse3(const char *s, float *v);

/* The weights file tools use when none is named (1 when it exists), and the one whose
 * xfer.data.crc32c is crc_hex (1 when found). */
int xf__default_weights(char *out, size_t size);
int xf__weights_by_crc(const char *crc_hex, char *out, size_t size);

#endif /* XF_CLI_H */
