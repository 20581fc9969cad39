// libxcrypt's crypt(3) family: crypt_rn and crypt_gensalt_rn (yescrypt, bcrypt, sha512crypt).
#include <crypt.h>
