// SPDX-License-Identifier: Apache-2.0
#include "otap_parquet/util/pem.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include "otap_parquet/testing/gtest_util.h"

namespace otap_parquet::util {
namespace {

using ::testing::HasSubstr;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

// A self-signed P-256 certificate and its key, as PEM text.
std::pair<std::string, std::string> SelfSigned() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  auto text = [](auto write) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    write(bio.get());
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(size));
  };
  return {text([&](BIO* b) { PEM_write_bio_X509(b, cert.get()); }), text([&](BIO* b) {
            PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

// Scenario: a generated certificate and key as PEM text; a bundle of two
// certificates; text that is not PEM; a certificate where a key is expected.
// Guarantees: the valid text parses (the store holds both certificates); every
// invalid input is Invalid naming what was read, never a crash.
TEST(PemTest, ParsesValidTextAndNamesInvalidText) {
  const auto [cert_pem, key_pem] = SelfSigned();
  const std::string other_pem = SelfSigned().first;
  ASSERT_OK_AND_ASSIGN(auto cert, PemCertificate(cert_pem, "tls.cert"));
  EXPECT_NE(cert.get(), nullptr);
  ASSERT_OK_AND_ASSIGN(auto key, PemPrivateKey(key_pem, "tls.key"));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  ASSERT_OK_AND_ASSIGN(auto store, PemCertificateStore(cert_pem + other_pem, "tls.ca"));
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store.get());
  EXPECT_EQ(sk_X509_OBJECT_num(objects), 2);

  for (const std::string bad : {"", "garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n"}) {
    auto st = PemCertificate(bad, "tls.cert").status();
    EXPECT_TRUE(st.IsInvalid()) << st.ToString();
    EXPECT_THAT(st.message(), HasSubstr("tls.cert: no PEM certificate"));
    EXPECT_TRUE(PemCertificateStore(bad, "tls.ca").status().IsInvalid());
  }
  auto st = PemPrivateKey(cert_pem, "tls.key").status();
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("tls.key: no unencrypted PEM private key"));
}

}  // namespace
}  // namespace otap_parquet::util
