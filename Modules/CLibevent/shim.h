#ifndef RARANGI_CLIBEVENT_SHIM_H
#define RARANGI_CLIBEVENT_SHIM_H
#include <event2/event.h>
#include <event2/util.h>

/* libevent's function-like macros do not import into Swift. */
static inline struct event *rarangi_evtimer_new(struct event_base *b, event_callback_fn cb, void *arg) {
    return event_new(b, -1, 0, cb, arg);
}
static inline struct event *rarangi_evsignal_new(struct event_base *b, int sig, event_callback_fn cb, void *arg) {
    return event_new(b, sig, EV_SIGNAL | EV_PERSIST, cb, arg);
}
#endif
