/* fuzz_wfile.c — libFuzzer target: any bytes as a weights file (GGUF parse, metadata, tensor
 * table, graph parse + binding). Built with -fsanitize=fuzzer by `make fuzz`; fuzz_main.c replays
 * files without libFuzzer. It is: a harness only. */
#include "graph.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xf_wfile *wf;
    xf_error err;
    if (xf__wfile_parse(data, size, "fuzz", 0, &wf, &err) != XF_OK)
        return 0;
    xf__wfile_verify(wf, &err);
    const char *g;
    if (xf__wfile_get_str(wf, "xfer.graph", &g, &err) == XF_OK) {
        xf_graph graph;
        if (xf__graph_parse(g, &graph, &err) == XF_OK) {
            unsigned char *used = calloc((size_t) wf->n_t + 1, 1);
            const float **f32 = calloc((size_t) wf->n_t + 1, sizeof *f32);
            for (int i = 0; f32 && i < wf->n_t; i++) /* F16 tensors are bound unexpanded */
                f32[i] = wf->t[i].data;
            if (used && f32)
                xf__graph_bind(&graph, wf, f32, used, &err);
            free(used);
            free(f32);
            xf__graph_free(&graph);
        }
    }
    xf__wfile_free(wf);
    return 0;
}
