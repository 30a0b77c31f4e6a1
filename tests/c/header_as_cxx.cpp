// The C header must also compile as C++ (extern "C", no C-only constructs).
#include "flexiti_auth.h"

static_assert(FLX_OK == 0 && FLX_ERR_INTERNAL == 7, "status codes are part of the ABI");

int main() {
    FlxClient *c = flx_client_new(nullptr, nullptr, nullptr);
    return c == nullptr && flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT ? 0 : 1;
}
