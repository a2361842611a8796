// glibc's memory calls TensorCore's buffers need, in the form Swift can import.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>
// mallopt, to keep large freed heap blocks from piling up.
#include <malloc.h>

// mremap is variadic, which Swift cannot call: resizes a private anonymous mapping, moving it when
// it cannot grow in place. The pages it keeps stay resident (no new fault, no zeroing).
// Returns NULL when the system refuses.
static inline void *facerestore_remap(void *address, size_t oldSize, size_t newSize) {
    void *moved = mremap(address, oldSize, newSize, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
}
