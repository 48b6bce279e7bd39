/* LD_PRELOAD shim for bench/chaos: moves the wall clock only
 * (CLOCK_REALTIME, gettimeofday, time) by CHAOS_WALL_OFFSET_S seconds,
 * leaving CLOCK_MONOTONIC alone. Used when libfaketime cannot be preloaded
 * into rarangid (with libfaketime 0.9.10 preloaded, the Swift runtime sees
 * an empty argument list). Build: cc -shared -fPIC -O2 -o walloffset.so walloffset.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long offset_s(void) {
    static int done;
    static long off;
    if (!done) {
        const char *s = getenv("CHAOS_WALL_OFFSET_S");
        off = s ? atol(s) : 0;
        done = 1;
    }
    return off;
}

int clock_gettime(clockid_t c, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(c, ts);
    if (r == 0 && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE)) ts->tv_sec += offset_s();
    return r;
}

int gettimeofday(struct timeval *tv, void *tz) {
    static int (*real)(struct timeval *, void *);
    if (!real) real = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
    int r = real(tv, tz);
    if (r == 0 && tv) tv->tv_sec += offset_s();
    return r;
}

time_t time(time_t *t) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
