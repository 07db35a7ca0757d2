/*
 * denormals.h -- the floating-point mode the CPU backend computes in: flush-to-zero (FTZ) and
 * denormals-are-zero (DAZ), set for the duration of a piece of work on the thread running it and
 * then put back as it was.
 *
 * Why: as phi trains, the LSTM saturates (gates near 0 and 1, cells far from 0) and the products
 * of the backward pass (a gate's derivative s (1 - s) times a carried gradient, say) fall below
 * float32's smallest normal number, 2^-126 = 1.18e-38.  Processors compute on such subnormal
 * numbers through a slow path (on Intel a microcode assist of a hundred cycles or more per
 * instruction): meta-training was measured 4.5 times slower there, the backward pass taking
 * most of the time.  With FTZ a result below 2^-126 becomes a zero of the same sign; with DAZ a
 * subnormal operand is read as a zero of the same sign; both at full speed.  The numerical
 * effect is stated in l2l.h ("Floating-point mode") and lstm_math.h.
 *
 * The mode is part of a thread's state (MXCSR on x86-64, for SSE and AVX arithmetic in float and
 * double alike), and the thread calling the library belongs to the caller: a JVM does not restore
 * MXCSR after a native call, so a mode left set would change the caller's own arithmetic.  Hence
 * an RAII guard around each piece of work (each chunk of a parallel loop, on the calling thread
 * and on the pool's workers alike), which restores the saved register on every exit.  Setting
 * MXCSR costs a few tens of cycles; the smallest piece of work is microseconds long.
 *
 * On other architectures the guard does nothing and the kernels compute with the thread's mode
 * as it is.
 */
#ifndef L2L_DENORMALS_H
#define L2L_DENORMALS_H

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define L2L_HAS_MXCSR 1
#endif

namespace l2l {
namespace cpu {

#if defined(L2L_HAS_MXCSR)

/* MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6). */
constexpr uint32_t kMxcsrFtz = 0x8000;
constexpr uint32_t kMxcsrDaz = 0x0040;

/* The bits the guard sets: FTZ always (every SSE processor has it); DAZ when MXCSR_MASK, as
 * FXSAVE reports it, says the processor has it (setting a bit the processor lacks faults; GCC's
 * crtfastmath checks the same way).  Found once. */
inline uint32_t flush_bits() noexcept {
    static const uint32_t bits = [] {
        alignas(16) unsigned char area[512];
        memset(area, 0, sizeof area);
        __asm__ __volatile__("fxsave %0" : "=m"(area));
        uint32_t mask;
        memcpy(&mask, area + 28, sizeof mask); /* MXCSR_MASK; 0 means the default 0xFFBF */
        if (mask == 0) mask = 0xFFBF;
        return kMxcsrFtz | (mask & kMxcsrDaz);
    }();
    return bits;
}

/* Sets FTZ and DAZ on this thread for its lifetime, then restores MXCSR as it found it: the
 * rounding mode, the exception masks and the sticky exception flags too (those the work raised
 * are dropped). */
class FlushDenormals {
public:
    FlushDenormals() noexcept : saved_(_mm_getcsr()) {
        const uint32_t want = saved_ | flush_bits();
        if (want != saved_) _mm_setcsr(want);
    }
    ~FlushDenormals() { _mm_setcsr(saved_); }
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;

private:
    const uint32_t saved_;
};

#else

class FlushDenormals {
public:
    FlushDenormals() noexcept {}
    FlushDenormals(const FlushDenormals&) = delete;
    FlushDenormals& operator=(const FlushDenormals&) = delete;
};

#endif

/* f wrapped so that each call runs under FlushDenormals: the body of a parallel loop whose
 * every chunk computes in the kernels' mode (thread_pool.h's parallel_for(count, parallelism,
 * flushing(body))). */
template <typename F>
struct Flushing {
    const F& f;
    template <typename... A>
    void operator()(A... a) const {
        FlushDenormals mode;
        f(a...);
    }
};

template <typename F>
Flushing<F> flushing(const F& f) {
    return Flushing<F>{f};
}

} // namespace cpu
} // namespace l2l

#endif
