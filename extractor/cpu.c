/* cpu.c — the instruction set in use (see cpu.h). */
#include "cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static xf_isa isa_in_use;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void decide(void)
{
    xf_isa have = XF_ISA_BASE;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        have = XF_ISA_AVX2;
    if (have == XF_ISA_AVX2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        have = XF_ISA_AVX512;
#endif
    const char *want = getenv("XF_ISA");
    xf_isa cap = want && strcmp(want, "avx2") == 0 ? XF_ISA_AVX2 : XF_ISA_AVX512;
    isa_in_use = have < cap ? have : cap;
}

xf_isa xf__isa(void)
{
    pthread_once(&once, decide);
    return isa_in_use;
}

const char *xf__isa_name(xf_isa isa)
{
    return isa == XF_ISA_AVX512 ? "avx512" : isa == XF_ISA_AVX2 ? "avx2" : "base";
}
