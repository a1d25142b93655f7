/* cpu.h — which instruction set the kernels use: the best this CPU has, or less when the
 * environment says so (XF_ISA=avx2: the OpenBLAS fallback path of a machine without AVX-512,
 * for tests and for comparing). It is: one decision, made once per process. It is not: the
 * kernels (the FMA/baseline clones of XF_CLONES are chosen by the loader, not by this).
 */
#ifndef XF_CPU_H
#define XF_CPU_H

typedef enum {
    XF_ISA_BASE,   /* baseline x86-64, or not x86: the OpenBLAS GEMM path          */
    XF_ISA_AVX2,   /* AVX2 + FMA: the same path, FMA-cloned loops                  */
    XF_ISA_AVX512, /* AVX-512 F/BW/DQ/VL: xfer's own convolution kernels           */
} xf_isa;

/* The instruction set in use: min(what the CPU has, $XF_ISA when set). Thread-safe. */
xf_isa xf__isa(void);
const char *xf__isa_name(xf_isa isa);

#endif /* XF_CPU_H */
