/* The alternative we measured before writing our own HTTP parser: libevent's
 * evhttp serving fixed bytes from memory, single-threaded. bench/catalogue.sh
 * builds and runs it in the same run as rarangid and nginx.
 * Usage: evhttp_reference PORT FILE */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>

static char *body;
static size_t body_len;

static void handle(struct evhttp_request *req, void *arg) {
    (void)arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evbuffer_add_reference(out, body, body_len, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", NULL);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s PORT FILE\n", argv[0]); return 2; }
    FILE *f = fopen(argv[2], "rb");
    if (!f) { perror(argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    body_len = (size_t)ftell(f);
    rewind(f);
    body = malloc(body_len);
    if (fread(body, 1, body_len, f) != body_len) { perror("read"); return 1; }
    fclose(f);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_gencb(http, handle, NULL);
    if (evhttp_bind_socket(http, "127.0.0.1", (unsigned short)atoi(argv[1])) != 0) { fprintf(stderr, "bind failed\n"); return 1; }
    event_base_dispatch(base);
    return 0;
}
