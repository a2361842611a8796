#include <oneapi/dnnl/dnnl.h>
// glibc's malloc tuning (mallopt), used by TensorCore to keep large freed buffers from piling up.
#include <malloc.h>
