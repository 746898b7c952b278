/* types.c — (to be written) */
#include "config.h"
#include "types.h"
