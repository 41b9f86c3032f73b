// Internal to CPhoneNumber: the exact fast path of cpn_parse (see fastpath.cpp).
#ifndef CPHONENUMBER_FASTPATH_H
#define CPHONENUMBER_FASTPATH_H

#include "cphonenumber.h"

#include <stddef.h>

namespace cpn {

// Answers cpn_parse for the shapes it covers, exactly as libphonenumber would.
//
// Returns true when it answered: `*status` and `*out` then hold what the reference path
// (PhoneNumberUtil) gives. Returns false, leaving `*out` zeroed, for any input outside its
// proven scope; the caller then asks PhoneNumberUtil. `out` must be zeroed by the caller
// and `length` must already be within CPN_MAX_INPUT_LENGTH. Never throws.
bool fast_parse(const char *input, size_t length, const char *default_region, cpn_number *out,
                cpn_status *status) noexcept;

}  // namespace cpn

#endif
