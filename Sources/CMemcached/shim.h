// libmemcached's C API.
#include <libmemcached/memcached.h>
