// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

namespace otap_parquet::util {

namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(std::string_view pem) {
  return std::unique_ptr<BIO, BioFree>(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

arrow::Result<X509Ptr> PemCertificate(std::string_view pem, std::string_view what) {
  auto bio = MemoryBio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!cert) return arrow::Status::Invalid(what, ": no PEM certificate");
  return cert;
}

arrow::Result<EvpPkeyPtr> PemPrivateKey(std::string_view pem, std::string_view what) {
  auto bio = MemoryBio(pem);
  // An empty passphrase: an encrypted key fails instead of prompting on a tty.
  char empty[] = "";
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty)
                     : nullptr);
  ERR_clear_error();
  if (!key) return arrow::Status::Invalid(what, ": no unencrypted PEM private key");
  return key;
}

arrow::Result<X509StorePtr> PemCertificateStore(std::string_view pem,
                                                std::string_view what) {
  auto bio = MemoryBio(pem);
  X509StorePtr store(X509_STORE_new());
  if (!bio || !store) return arrow::Status::OutOfMemory(what, ": OpenSSL allocation");
  int count = 0;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    if (X509_STORE_add_cert(store.get(), cert.get()) == 1) ++count;
  }
  ERR_clear_error();  // the end of the text reads as an error
  if (count == 0) return arrow::Status::Invalid(what, ": no PEM certificate");
  return store;
}

}  // namespace otap_parquet::util
