/* Runtime version of the loaded library (compare with SLLM_VERSION_* from the header). */
#include "statelessllm.h"

SLLM_API const char *sllm_version(void) { return SLLM_VERSION_STRING; }

SLLM_API int sllm_version_number(void) { return SLLM_VERSION_NUMBER; }
