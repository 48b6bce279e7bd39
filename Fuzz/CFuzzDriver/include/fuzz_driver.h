// libFuzzer's entry for programs that have their own main (SwiftPM gives
// an executable target's main another name). Only declared here: the fuzz
// build links libFuzzer, a plain build never calls it.
#ifndef RARANGI_FUZZ_DRIVER_H
#define RARANGI_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*one)(const uint8_t *data, size_t size));
#endif
