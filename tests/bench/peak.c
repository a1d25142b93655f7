/* peak.c — this CPU's single-core fp32 FMA peak in GFLOPS: 12 independent chains of 512-bit
 * (AVX-512) or 256-bit (AVX2) fused multiply-adds, the bound every kernel figure is a percent
 * of. It is: a probe for `make bench`. It is not: a test. Usage: peak [SECONDS]
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f,fma"))) static double peak512(double secs)
{
    __m512 a[12], b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm512_set1_ps((float) i * 1e-3f);
    long n = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 100000; k++)
#pragma GCC unroll 12
            for (int i = 0; i < 12; i++)
                a[i] = _mm512_fmadd_ps(a[i], b, c);
        n += 100000;
    } while ((t = now() - t0) < secs);
    float s = 0;
    for (int i = 0; i < 12; i++)
        s += _mm512_reduce_add_ps(a[i]);
    return (double) n * 12 * 32 / t / 1e9 + (double) (s * 0);
}

__attribute__((target("avx2,fma"))) static double peak256(double secs)
{
    __m256 a[12], b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float) i * 1e-3f);
    long n = 0;
    double t0 = now(), t;
    do {
        for (int k = 0; k < 100000; k++)
#pragma GCC unroll 12
            for (int i = 0; i < 12; i++)
                a[i] = _mm256_fmadd_ps(a[i], b, c);
        n += 100000;
    } while ((t = now() - t0) < secs);
    float s[8] = {0};
    for (int i = 0; i < 12; i++)
        _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), a[i]));
    return (double) n * 12 * 16 / t / 1e9 + (double) (s[0] * 0);
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 1.0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        printf("%.1f GFLOPS (AVX-512 FMA)\n", peak512(secs));
    else if (__builtin_cpu_supports("fma"))
        printf("%.1f GFLOPS (AVX2 FMA)\n", peak256(secs));
    else
        printf("0 GFLOPS (no FMA)\n");
    return 0;
}
