// The parts of OpenSSL's libcrypto the project uses: EVP keys and digests, HMAC, the CSPRNG, PEM loading.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>

// Key generation and BIO_get_mem_data, which are macros (or variadic) in OpenSSL's headers: thin functions Swift can call.
static inline EVP_PKEY *EVP_PKEY_Q_keygen_ed25519(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"); }
static inline EVP_PKEY *EVP_PKEY_Q_keygen_p256(void) { return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); }
static inline long sso_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
