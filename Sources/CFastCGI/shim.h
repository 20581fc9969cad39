// libfcgi's request API (FCGX_*), the only FastCGI header the Swift side sees.
#include <fcgiapp.h>
