#ifndef RARANGI_CLIBEVENT_SHIM_H
#define RARANGI_CLIBEVENT_SHIM_H
/* libevent's event-config.h defines _GNU_SOURCE. Including the C library's
 * headers first, under the same feature macros Swift's Glibc module sees,
 * keeps their declarations identical in both modules (fd_set, for one). */
#include <sys/types.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <inttypes.h>
#include <time.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <event2/dns.h>

/* accept4 is declared only under _GNU_SOURCE, which the line above keeps
 * off; glibc always provides it. */
extern int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/* Accepts a connection as a non-blocking, close-on-exec socket. */
static inline int rarangi_accept(int listen_fd) {
    return accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* libevent's function-like macros do not import into Swift. */
static inline struct event *rarangi_evtimer_new(struct event_base *b, event_callback_fn cb, void *arg) {
    return event_new(b, -1, 0, cb, arg);
}
static inline struct event *rarangi_evsignal_new(struct event_base *b, int sig, event_callback_fn cb, void *arg) {
    return event_new(b, sig, EV_SIGNAL | EV_PERSIST, cb, arg);
}
#endif
