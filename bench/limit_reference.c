#define _GNU_SOURCE
/* What one thread on this kernel can do: epoll, one thread, keep-alive, no
 * parsing beyond finding the end of each request head, answering every
 * request with the same bytes as rarangid's lookup (its status line and
 * headers included). bench/catalogue.sh prints rarangid's rates as a ratio
 * of this program's, measured in the same run.
 * Usage: limit_reference PORT FILE   (FILE: the whole response to send) */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 65536
struct conn { char in[16384]; size_t inlen; char *out; size_t outlen, outcap; };
static struct conn *conns[MAXCONN];
static char *resp;
static size_t resp_len;

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (fd < MAXCONN && conns[fd]) { free(conns[fd]->out); free(conns[fd]); conns[fd] = NULL; }
}

static int flush(struct conn *c, int fd) {
    size_t off = 0;
    while (off < c->outlen) {
        ssize_t n = write(fd, c->out + off, c->outlen - off);
        if (n < 0) { if (errno == EAGAIN) break; return -1; }
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->outlen - off);
    c->outlen -= off;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT FILE\n", argv[0]); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    resp_len = (size_t)ftell(f);
    rewind(f);
    resp = malloc(resp_len);
    if (fread(resp, 1, resp_len, f) != resp_len) { perror("read"); return 1; }
    fclose(f);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) { perror("listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls }, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= MAXCONN) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conns[c] = calloc(1, sizeof(struct conn));
                    struct epoll_event e = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                }
                continue;
            }
            struct conn *c = conns[fd];
            if (!c) continue;
            if (evs[i].events & EPOLLOUT) {
                if (flush(c, fd)) { drop(ep, fd); continue; }
                if (c->outlen == 0) {
                    struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
                    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            ssize_t r = read(fd, c->in + c->inlen, sizeof c->in - c->inlen);
            if (r <= 0) { if (r < 0 && errno == EAGAIN) continue; drop(ep, fd); continue; }
            c->inlen += (size_t)r;
            /* Every complete request head gets the response. */
            size_t start = 0;
            for (;;) {
                char *end = memmem(c->in + start, c->inlen - start, "\r\n\r\n", 4);
                if (!end) break;
                if (c->outlen + resp_len > c->outcap) {
                    c->outcap = (c->outlen + resp_len) * 2;
                    c->out = realloc(c->out, c->outcap);
                }
                memcpy(c->out + c->outlen, resp, resp_len);
                c->outlen += resp_len;
                start = (size_t)(end - c->in) + 4;
            }
            memmove(c->in, c->in + start, c->inlen - start);
            c->inlen -= start;
            if (c->inlen == sizeof c->in) { drop(ep, fd); continue; }
            if (flush(c, fd)) { drop(ep, fd); continue; }
            if (c->outlen > 0) {
                struct epoll_event e = { .events = EPOLLIN | EPOLLOUT, .data.fd = fd };
                epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
            }
        }
    }
}
