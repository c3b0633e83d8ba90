// SPDX-License-Identifier: Apache-2.0
#include <iostream>

#include "otap_parquet/version.h"

int main() {
  std::cout << "otap-parquet " << OTAP_PARQUET_VERSION << "\n";
  return 0;
}
