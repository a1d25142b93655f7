/* fuzz_wfile.c — libFuzzer target: any bytes as a weights file (GGUF parse, metadata, tensor
 * table, graph parse + binding). Built with -fsanitize=fuzzer by `make fuzz`; fuzz_main.c replays
 * files without libFuzzer. It is: a harness only. */
#include "xf_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xf_wfile *wf;
    xf_error err;
    if (xf__wfile_parse(data, size, "fuzz", &wf, &err) != XF_OK)
        return 0;
    xf__wfile_verify(wf, &err);
    const char *g;
    if (xf__wfile_get_str(wf, "xfer.graph", &g, &err) == XF_OK) {
        xf_graph graph;
        if (xf__graph_parse(g, &graph, &err) == XF_OK) {
            unsigned char *used = calloc((size_t) wf->n_t + 1, 1);
            if (used)
                xf__graph_bind(&graph, wf, used, &err);
            free(used);
            xf__graph_free(&graph);
        }
    }
    xf__wfile_free(wf);
    return 0;
}
