// libyaml's C API (Debian libyaml-dev): the event parser SSOYAML builds its nodes from.
#include <yaml.h>
