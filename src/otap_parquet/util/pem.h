// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <arrow/result.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/// \file
/// Inline PEM text (the `*_pem` TLS keys) to the OpenSSL objects cpp-httplib takes
/// where gRPC takes the PEM text itself.

namespace otap_parquet::util {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509StoreFree {
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;

/// \brief The first certificate of `pem`; Invalid naming `what` if there is none.
arrow::Result<X509Ptr> PemCertificate(std::string_view pem, std::string_view what);
/// \brief The private key of `pem` (unencrypted); Invalid naming `what` otherwise.
arrow::Result<EvpPkeyPtr> PemPrivateKey(std::string_view pem, std::string_view what);
/// \brief A store with every certificate of `pem` (a CA bundle); Invalid naming
/// `what` if there is none.
arrow::Result<X509StorePtr> PemCertificateStore(std::string_view pem,
                                                std::string_view what);

}  // namespace otap_parquet::util
